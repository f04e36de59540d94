"""Links as sources: fetch a page the way a polite, careful client does, then load it like a file.

httpx with a timeout per wait, at most ``MAX_REDIRECTS`` redirects (each hop checked again), a size cap
counted as the body streams in, a content-type check, robots.txt honoured, and a user agent that says
what it is. A link whose host is a private, loopback or link-local address is refused unless the
``fetch_allow_hosts`` setting names that host: a server that fetches links for its users must not become
their way into the internal network. Conditional requests (ETag, Last-Modified) let ``sync`` skip pages
that did not change.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from .. import errors

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


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    body: bytes
    suffix: str  # how to read it: .html .txt .md .pdf
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # a conditional request answered 304: ``body`` is empty


def is_link(source: str) -> bool:
    return str(source).startswith(("http://", "https://"))


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_hosts: frozenset[str] = frozenset(),
    etag: str | None = None,
    last_modified: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """The page at ``url``; FetchError naming the link and what was wrong otherwise."""
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(SUFFIX_BY_TYPE)}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with httpx.Client(timeout=timeout_s, follow_redirects=False, headers=headers, transport=transport) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            _check_address(url, current, allow_hosts)
            if not _robots_allow(client, current):
                raise errors.FetchError(url, "robots.txt of the site does not allow fetching this page")
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    return _read(url, current, response, max_bytes)
            except httpx.TimeoutException:
                raise errors.FetchError(url, f"no answer within {timeout_s:g} s") from None
            except httpx.HTTPError as exc:
                raise errors.FetchError(url, f"could not fetch it ({type(exc).__name__}: {exc})") from None
        raise errors.FetchError(url, f"more than {MAX_REDIRECTS} redirects")


def _read(url: str, current: str, response: httpx.Response, max_bytes: int) -> Fetched:
    if response.status_code == 304:
        return Fetched(current, b"", "", response.headers.get("etag"), response.headers.get("last-modified"), True)
    if response.status_code >= 400:
        raise errors.FetchError(url, f"the server answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = SUFFIX_BY_TYPE.get(content_type)
    if suffix is None:
        raise errors.FetchError(url, f"is {content_type or 'of no content type'}, not a web page, text or PDF")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise errors.FetchError(url, f"{int(declared):,} bytes is over the {max_bytes:,}-byte limit")
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > max_bytes:  # counted as it arrives: the length may be missing or false
            raise errors.FetchError(url, f"is over the {max_bytes:,}-byte limit")
    return Fetched(current, bytes(body), suffix, response.headers.get("etag"), response.headers.get("last-modified"))


def _check_address(url: str, current: str, allow_hosts: frozenset[str]) -> None:
    parts = urlsplit(current)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.FetchError(url, f"{current} is not an http(s) link")
    host = parts.hostname.lower()
    if host in allow_hosts:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)}
    except socket.gaierror:
        raise errors.FetchError(url, f"the host {host} does not resolve") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
            raise errors.FetchError(
                url, f"{host} is a private or local address ({ip}); set fetch_allow_hosts to fetch from it"
            )


def _robots_allow(client: httpx.Client, url: str) -> bool:
    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    try:
        response = client.get(robots_url)
    except httpx.HTTPError:
        return True  # no robots.txt to be had: nothing forbids it
    if response.status_code >= 400 or len(response.content) > ROBOTS_MAX_BYTES:
        return True
    parser = RobotFileParser()
    parser.parse(response.text.splitlines())
    return parser.can_fetch(USER_AGENT, url)


def load_link(url: str, *, max_bytes: int, timeout_s: float, allow_hosts: frozenset[str] = frozenset(),
              etag: str | None = None, last_modified: str | None = None):
    """(Article, Fetched) for a link, or (None, Fetched) when a conditional request says it did not change."""
    import tempfile
    from pathlib import Path

    from .loaders import load_article

    fetched = fetch(url, max_bytes=max_bytes, timeout_s=timeout_s, allow_hosts=allow_hosts, etag=etag,
                    last_modified=last_modified)
    if fetched.not_modified:
        return None, fetched
    with tempfile.TemporaryDirectory(prefix="assistant-fetch-") as folder:
        path = Path(folder) / f"page{fetched.suffix}"
        path.write_bytes(fetched.body)
        try:
            article = load_article(path, max_bytes=max_bytes, source=url)
        except errors.IngestError as exc:  # name the link, not the temporary file
            raise type(exc)(url, exc.reason) from None
    if not article.url:
        from dataclasses import replace

        article = replace(article, url=fetched.url)
    return article, fetched
