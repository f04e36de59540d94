"""Which names this server answers for, and which page requests come from its own pages.

A browser page whose name was rebound to 127.0.0.1 (DNS rebinding) is same-origin with itself, not with this
server: its requests carry ``Host: evil.example:PORT``. So every request's Host must name this server — a
loopback name, an IP address (no page can be served under someone else's address), the host of ``public_url``,
the host it listens on, or one that ``allowed_hosts`` lists — before any handler runs. And the chat page's
state-changing requests (its event handlers, uploads, sign-in) must come from the page itself: an ``Origin``
naming another site, or a browser saying the request is cross-site, is refused (CSRF).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cached_property
from urllib.parse import urlsplit

from starlette.datastructures import Headers

from ..settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})


def host_name(netloc: str) -> str:
    """The host of a Host header or netloc, in lower case, without port or IPv6 brackets."""
    netloc = netloc.strip().lower().rsplit("@", 1)[-1]
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class ServedHosts:
    def __init__(self, settings: Settings):
        self.settings = settings
        listed = {h.strip().lower().rstrip(".") for h in settings.allowed_hosts.split(",") if h.strip()}
        self.any = "*" in listed
        self.suffixes = tuple(h[2:] for h in listed if h.startswith("*."))  # *.example.com: its subdomains
        self.listed = {h for h in listed if not h.startswith("*")}

    @cached_property
    def names(self) -> frozenset[str]:
        names = set(LOOPBACK_NAMES) | self.listed
        if self.settings.public_url:
            names.add(host_name(urlsplit(self.settings.public_url).netloc))
        bind = self.settings.host.strip().lower()
        if bind in WILDCARD_BINDS:  # listening everywhere: the machine's own names too
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        else:
            names.add(host_name(bind))
        return frozenset(n for n in names if n)

    def allows(self, host_header: str | None) -> bool:
        if not host_header:  # HTTP/1.0 without Host (a balancer's health check): no browser sends that
            return True
        host = host_name(host_header).rstrip(".")
        if self.any or _is_ip(host) or host in self.names:
            return True
        return any(host.endswith("." + suffix) for suffix in self.suffixes)

    def refusal(self, host_header: str | None) -> str:
        shown = (host_header or "")[:100]
        return (f"this server does not answer for the host {shown!r}; add it to ASSISTANT_ALLOWED_HOSTS "
                "(or set ASSISTANT_PUBLIC_URL) if it is a name of this server")


def cross_site(headers: Headers, own_origins: frozenset[str]) -> str | None:
    """Why a state-changing page request does not come from this server's own page (the request's own host, or
    ``public_url`` behind a proxy), or None."""
    origin = headers.get("origin")
    if origin is not None:
        try:
            same = urlsplit(origin).netloc.lower() == headers.get("host", "").lower()
        except ValueError:  # "Origin: http://[oops": not this server's page
            same = False
        if origin == "null" or not (same or origin.lower().rstrip("/") in own_origins):
            return f"requests from {origin[:100]} may not change anything here; use this server's own page"
        return None
    if headers.get("sec-fetch-site") == "cross-site":  # set by the browser, never by a page
        return "requests from another site may not change anything here; use this server's own page"
    return None
