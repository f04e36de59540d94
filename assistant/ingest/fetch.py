"""Links as sources: fetch a page the way a polite, careful client does, then load it like a file.

A link is an absolute http(s) URL, parsed once into a :class:`Link`; only a ``Link`` is ever fetched, and nothing
that arrives as a link reaches the file loader as a path. httpx with a timeout per wait and an overall deadline
per link, at most ``MAX_REDIRECTS`` redirects (each hop checked again), a size cap counted as the body streams in,
a content-type check, robots.txt honoured, and a user agent that says what it is.

A link whose host is a private, loopback or link-local address is refused unless the ``fetch_allow_hosts``
setting names that host: a server that fetches links for its users must not become their way into the internal
network. Each hop's host is resolved once, every address checked, and the connection made to the checked address
(the Host header and TLS name stay the host's), so a name that answers differently the second time (DNS
rebinding) cannot slip past the check; an IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is checked
by the IPv4 address it reaches. A compressed body is inflated through a bounded window, so a few kilobytes that
inflate to gigabytes stop at the size cap. Conditional requests (ETag, Last-Modified) let ``sync`` skip pages that did
not change.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from .. import errors
from ..models import Link, valid_host

USER_AGENT = "article-assistant/0.1 (fetches the articles its users add; honours robots.txt)"
MAX_REDIRECTS = 5
ROBOTS_MAX_BYTES = 64 * 1024
# What a page may be, and the suffix the loader reads it by.
SUFFIX_BY_TYPE = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
}
# A feed (RSS or Atom) is served as one of these (generic XML included): its items become articles (feeds.py).
FEED_SUFFIX = ".xml"
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml",
              "application/x-rss+xml", "application/xml", "text/xml")


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    body: bytes
    suffix: str  # how to read it: .html .txt .md .pdf
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # a conditional request answered 304: ``body`` is empty
    content_type: str = ""
    charset: str | None = None  # as the Content-Type header says it (it comes before a page's own <meta>)

    @property
    def validators(self) -> dict[str, str | None]:
        """What a conditional request sends next time; kept with the text it describes."""
        return {"etag": self.etag, "last_modified": self.last_modified}


def fetch(
    link: Link,
    *,
    max_bytes: int,
    timeout_s: float,
    deadline_s: float = 120.0,
    allow_hosts: frozenset[str] = frozenset(),
    etag: str | None = None,
    last_modified: str | None = None,
    transport: httpx.BaseTransport | None = None,
    any_type: bool = False,
) -> Fetched:
    """The page (or feed: suffix FEED_SUFFIX) at ``link``; FetchError naming the link and what was wrong otherwise.
    ``timeout_s`` bounds each wait, ``deadline_s`` the whole fetch (robots.txt and redirects included).
    ``any_type``: a body of any content type comes back (suffix ""), for a caller that reads it as a feed."""
    if not isinstance(link, Link):  # a bare string is never fetched: it may be anything a caller sent
        raise TypeError("fetch takes a Link (parse_link)")
    url = link.url
    # Only the encodings inflated here with a bound (_Inflater): httpx's own brotli and zstd decoders are not.
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join([*SUFFIX_BY_TYPE, *FEED_TYPES]),
               "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    ends = time.monotonic() + deadline_s

    def wait_s() -> float:
        left = ends - time.monotonic()
        if left <= 0:
            raise errors.FetchError(url, f"took longer than the {deadline_s:g}-second deadline (fetch_deadline_s)")
        return min(timeout_s, left)

    with httpx.Client(follow_redirects=False, headers=headers, transport=transport) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            pinned = _pinned(url, current, allow_hosts)
            try:
                if not _robots_allow(client, pinned, wait_s):
                    raise errors.FetchError(url, "robots.txt of the site does not allow fetching this page")
                request = pinned.request(client, pinned.path, wait_s())
                response = client.send(request, stream=True)
                try:
                    if response.is_redirect and "location" in response.headers:
                        try:
                            current = urljoin(current, response.headers["location"])
                        except ValueError:  # "Location: http://[oops/"
                            raise errors.FetchError(url, "redirects to a link that is not one") from None
                        continue
                    return _read(url, current, response, max_bytes, wait_s, any_type)
                finally:
                    response.close()
            except httpx.TimeoutException:
                if time.monotonic() >= ends:  # the wait was cut short by the deadline, not the site's silence
                    raise errors.FetchError(url, f"took longer than the {deadline_s:g}-second deadline "
                                                 "(fetch_deadline_s)") from None
                raise errors.FetchError(url, f"no answer within {timeout_s:g} s") from None
            except httpx.HTTPError as exc:
                raise errors.FetchError(url, f"could not fetch it ({type(exc).__name__}: {exc})") from None
        raise errors.FetchError(url, f"more than {MAX_REDIRECTS} redirects")


def _read(url: str, current: str, response: httpx.Response, max_bytes: int, wait_s: Callable[[], float],
          any_type: bool = False) -> Fetched:
    if response.status_code == 304:
        return Fetched(current, b"", "", response.headers.get("etag"), response.headers.get("last-modified"), True)
    if response.status_code >= 400:
        raise errors.FetchError(url, f"the server answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = SUFFIX_BY_TYPE.get(content_type) or (FEED_SUFFIX if content_type in FEED_TYPES else None)
    if suffix is None and any_type:
        suffix = ""
    if suffix is None:
        raise errors.FetchError(url, f"is {content_type or 'of no content type'}, not a web page, text, PDF or feed")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise errors.FetchError(url, f"{int(declared):,} bytes is over the {max_bytes:,}-byte limit")
    try:
        body = _body(response, max_bytes, wait_s)
    except _TooLarge:
        raise errors.FetchError(url, f"is over the {max_bytes:,}-byte limit") from None
    except _UnknownEncoding as exc:
        raise errors.FetchError(url, f"is sent with content encoding {exc}, which is not read (gzip, deflate)") from None
    except _BrokenBody as exc:
        raise errors.FetchError(url, str(exc)) from None
    return Fetched(current, bytes(body), suffix, response.headers.get("etag"), response.headers.get("last-modified"),
                   content_type=content_type, charset=response.charset_encoding)


READ_CODINGS = ("identity", "gzip", "x-gzip", "deflate")
UNREAD_CODINGS = ("br", "zstd", "compress", "x-compress")  # httpx's brotli and zstd decoders have no output bound


class _TooLarge(Exception):
    pass


class _UnknownEncoding(Exception):
    pass


class _BrokenBody(Exception):
    pass


class _Inflater:
    """gzip or deflate, inflated at most ``room`` bytes at a time: zlib's ``max_length`` bounds what one piece
    becomes, where a plain decoder would hand back a bomb's gigabytes at once."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS)
        self.started = False

    def __call__(self, data: bytes, room: int) -> bytes:
        try:
            out = self.zlib.decompress(data, room + 1)
        except zlib.error:
            if self.encoding != "deflate" or self.started:
                raise
            # "deflate" is sent zlib-wrapped or raw, depending on the server: the first piece tells
            self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self.zlib.decompress(data, room + 1)
        self.started = True
        return out


def _body(response: httpx.Response, limit: int, wait_s: Callable[[], float]) -> bytes:
    """The decoded body, never more than ``limit`` bytes of it held (_TooLarge past that, as it arrives: the
    declared length may be missing or false), cut off at the fetch's deadline (``wait_s``)."""
    named = [c.strip() for c in response.headers.get("content-encoding", "").lower().split(",")]
    # A value that names no coding ("utf-8", "none": misconfigured servers send them) is none, as httpx takes it.
    codings = [c for c in named if c in READ_CODINGS and c != "identity" or c in UNREAD_CODINGS]
    if len(codings) > 1 or any(c in UNREAD_CODINGS for c in codings):
        raise _UnknownEncoding(", ".join(codings)[:40])
    encoding = codings[0] if codings else "identity"
    inflate = _Inflater(encoding) if encoding != "identity" else None
    body = bytearray()
    try:
        for piece in response.iter_raw():
            body += inflate(piece, limit - len(body)) if inflate else piece
            if len(body) > limit:
                raise _TooLarge
            wait_s()  # a body that trickles in is cut off at the deadline
    except zlib.error as exc:
        raise _BrokenBody(f"its {encoding} body is broken ({exc})") from None
    return bytes(body)


@dataclass(frozen=True)
class _Pinned:
    """One hop: its URL's parts and the checked address the connection goes to."""

    scheme: str
    host: str
    netloc: str  # as the Host header names it
    address: str
    port: int
    path: str  # path and query

    def request(self, client: httpx.Client, path: str, timeout: float) -> httpx.Request:
        ip = f"[{self.address}]" if ":" in self.address else self.address
        target = f"{self.scheme}://{ip}:{self.port}{path}"
        extensions = {"sni_hostname": self.host} if self.scheme == "https" else {}  # TLS checks the host's name
        request = client.build_request("GET", target, headers={"Host": self.netloc},
                                       timeout=httpx.Timeout(timeout), extensions=extensions)
        return request


def _pinned(url: str, current: str, allow_hosts: frozenset[str]) -> _Pinned:
    try:
        parts = urlsplit(current)
    except ValueError:  # a redirect's Location the site wrote: "http://[oops/"
        raise errors.FetchError(url, f"{current} is not an http(s) link") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not valid_host(parts.hostname):
        raise errors.FetchError(url, f"{current} is not an http(s) link")
    if parts.username is not None or parts.password is not None:  # as parse_link refuses them: never stored
        raise errors.FetchError(url, "redirects to a link with a user name or password, which is not fetched")
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise errors.FetchError(url, f"{current} is not an http(s) link") from None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)  # once: the connection uses this answer
    except (socket.gaierror, UnicodeError):
        raise errors.FetchError(url, f"the host {host} does not resolve") from None
    addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise errors.FetchError(url, f"the host {host} does not resolve")
    if host not in allow_hosts:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if not _public(ip):
                raise errors.FetchError(
                    url, f"{host} is a private or local address ({ip}); set fetch_allow_hosts (ASSISTANT_FETCH_ALLOW_HOSTS) to fetch from it"
                )
    netloc = parts.netloc.rsplit("@", 1)[-1]
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return _Pinned(scheme, host, netloc, addresses[0], port, path)


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052's well-known prefix: the last 32 bits are the IPv4 host


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address on the public internet. An IPv6 address that carries an IPv4 one reaches that one: the IPv4
    address decides (``is_global`` calls ``64:ff9b::7f00:1``, the NAT64 form of 127.0.0.1, global)."""
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if carried is not None:
            return _public(carried)
        if ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def _robots_allow(client: httpx.Client, pinned: _Pinned, wait_s: Callable[[], float]) -> bool:
    """Streamed, like a page: a robots.txt that trickles in meets the fetch's deadline, one that is too large is
    read no further than ``ROBOTS_MAX_BYTES`` (and then counts as none)."""
    try:
        response = client.send(pinned.request(client, "/robots.txt", wait_s()), stream=True)
        try:
            if response.status_code >= 400:
                return True
            body = _body(response, ROBOTS_MAX_BYTES, wait_s)
        finally:
            response.close()
    except (httpx.HTTPError, _TooLarge, _UnknownEncoding, _BrokenBody):
        return True  # no robots.txt to be had (or one too large to read): nothing forbids it
    parser = RobotFileParser()
    parser.parse(body.decode("utf-8", "replace").splitlines())
    return parser.can_fetch(USER_AGENT, f"{pinned.scheme}://{pinned.netloc}{pinned.path}")


@dataclass(frozen=True)
class LoadedLink:
    """A link fetched and read: its article, or None when a conditional request said it did not change (or
    it failed: ``error``; or it is a feed: ``feed``, whose items the ingester reads), and the validators to keep
    with the article's text."""

    link: Link
    article: object | None  # models.Article
    validators: dict[str, str | None]
    error: errors.IngestError | None = None
    feed: object | None = None  # feeds.Feed
    not_modified: bool = False
    # A feed's item: its title and date are the feed's, so a new one alone is a change (a page's own may come
    # from elsewhere and is not compared).
    described_by_feed: bool = False


def load_link(link: Link, *, max_bytes: int, timeout_s: float, deadline_s: float = 120.0,
              allow_hosts: frozenset[str] = frozenset(), etag: str | None = None,
              last_modified: str | None = None, feeds: bool = True, feed_only: bool = False,
              feed_max_items: int = 100) -> LoadedLink:
    """The link fetched and read as an article, or as a feed when it is one (``feeds``; ``feed_only``: it must
    be one, whatever its content type says); an error is returned in ``error``, never raised."""
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    from .feeds import parse_feed
    from .loaders import load_article

    try:
        fetched = fetch(link, max_bytes=max_bytes, timeout_s=timeout_s, deadline_s=deadline_s,
                        allow_hosts=allow_hosts, etag=etag, last_modified=last_modified, any_type=feed_only)
        if fetched.not_modified:
            return LoadedLink(link, None, fetched.validators, not_modified=True)
        if feed_only or fetched.suffix == FEED_SUFFIX:
            if not feeds:
                raise errors.FetchError(link.url, "is a feed, not an article's page")
            feed = parse_feed(fetched.body, link.url, feed_max_items, fetched.content_type)
            return LoadedLink(link, None, fetched.validators, feed=feed)
        with tempfile.TemporaryDirectory(prefix="assistant-fetch-") as folder:
            path = Path(folder) / f"page{fetched.suffix}"
            path.write_bytes(fetched.body)
            try:
                article = load_article(path, max_bytes=max_bytes, source=link.url, charset=fetched.charset)
            except errors.IngestError as exc:  # name the link, not the temporary file
                raise type(exc)(link.url, exc.reason) from None
    except errors.IngestError as exc:
        return LoadedLink(link, None, {}, exc)
    if not article.url or not _same_site(article.url, fetched.url):
        article = replace(article, url=fetched.url)
    return LoadedLink(link, article, fetched.validators)


def _same_site(declared: str, fetched: str) -> bool:
    """A page's own link (its canonical link) is kept only on the site it was fetched from (the same registrable
    domain, by the public suffix list: amp.example.com may name www.example.com): anyone can write
    ``<link rel=canonical href="https://bank.example/login">``, and the reader would follow it as the original."""
    from tld import get_fld

    def site(url: str) -> str | None:
        try:
            return get_fld(url, fail_silently=True) or urlsplit(url).hostname  # an IP address or a bare host: itself
        except ValueError:  # the page wrote a canonical link that is not one ("http://[oops/")
            return None

    return site(declared) == site(fetched)
