"""API keys: who may call the HTTP API, with which role, from which web origins.

Two roles. Admin keys are server-side secrets: they may ask, list, upload and
remove. Widget keys are public (they sit in a host page's HTML), so they may
only ask, and only from the origins they are bound to.

Keys come from ``ASSISTANT_ADMIN_KEYS`` / ``ASSISTANT_WIDGET_KEYS`` (comma
separated; widget keys share ``ASSISTANT_WIDGET_ORIGINS``) and from an optional
keys file (``ASSISTANT_KEYS_FILE``, TOML or JSON)::

    admin_keys = ["long-random-secret", {key = "sport-desk-secret", collections = ["sport"]}]

    [[widget_keys]]
    key = "public-widget-key"
    origins = ["https://www.example.com"]
    collections = ["sport", "culture"]

A key with ``collections`` is scoped to them: it asks, lists, reads and (admin)
adds and removes articles there only, on every door (docs/collections.md). A
key without is unscoped: every collection.

Keys are looked up by their SHA-256 digest and only ever logged as a short
fingerprint of it.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, InvalidRequest
from ..models import collection_name
from ..settings import Settings, origin_of

Role = Literal["admin", "widget"]


def fingerprint(secret: str) -> str:
    """What logs and messages may show of a key."""
    return _digest(secret)[:8]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, as browsers send it in the Origin header (ConfigError otherwise)."""
    normalized = origin_of(origin)
    if normalized is None:
        raise ConfigError(f"widget origin {origin!r} must look like https://www.example.com (no path)")
    return normalized


@dataclass(frozen=True)
class ApiKey:
    role: Role
    fingerprint: str
    origins: frozenset[str] = field(default_factory=frozenset)
    collections: frozenset[str] | None = None  # the collections it is scoped to; None: every one

    @property
    def scope(self) -> tuple[str, ...] | None:
        """Its collections, sorted (None: unscoped), as the Assistant's ``scoped`` takes them."""
        return None if self.collections is None else tuple(sorted(self.collections))

    def allows_origin(self, origin: str | None, own_origins: frozenset[str]) -> bool:
        """Admin keys are not bound to origins; widget keys need an allowed Origin header.

        The server's own origins (from settings, never from the request's Host header) are
        always allowed: that is the ``/widget`` page.
        """
        if self.role == "admin":
            return True
        return origin is not None and origin.lower() in self.origins | own_origins


class KeyRing:
    def __init__(self, keys: dict[str, ApiKey] | None = None):
        self._by_digest = {_digest(secret): key for secret, key in (keys or {}).items()}

    def lookup(self, secret: str | None) -> ApiKey | None:
        # Compared by digest, so lookup time does not depend on how much of a key matched.
        return self._by_digest.get(_digest(secret)) if secret else None

    def by_fingerprint(self, fingerprint: str) -> ApiKey | None:
        return next((k for k in self._by_digest.values() if k.fingerprint == fingerprint), None)

    @property
    def empty(self) -> bool:
        return not self._by_digest

    @property
    def has_admin(self) -> bool:
        return any(k.role == "admin" for k in self._by_digest.values())

    @property
    def widget_origins(self) -> frozenset[str]:
        """Every origin some widget key may be used from (for CORS and frame-ancestors)."""
        return frozenset(o for k in self._by_digest.values() for o in k.origins)


class _AdminKeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    collections: list[str] | None = Field(None, min_length=1)


class _WidgetKeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    origins: list[str] = []
    collections: list[str] | None = Field(None, min_length=1)


class _KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt table ([[widget_key]]) would leave its keys out unsaid

    admin_keys: list[str | _AdminKeyEntry] = []
    widget_keys: list[_WidgetKeyEntry] = []


def load_keyring(settings: Settings) -> KeyRing:
    """Every key from the settings and the keys file."""
    shared_origins = _origins(_split(settings.widget_origins))
    keys: dict[str, ApiKey] = {}

    def add(secret: str, role: Role, origins: frozenset[str], collections: list[str] | None = None,
            where: str = "") -> None:
        if secret in keys:
            raise ConfigError(f"API key {fingerprint(secret)} is configured twice")
        for name in collections or ():
            try:
                collection_name(name)
            except InvalidRequest as exc:
                raise ConfigError(f"the keys file {settings.keys_file} is not valid at {where}.collections: "
                                  f"{exc.reason}") from None
        keys[secret] = ApiKey(role, fingerprint(secret), origins,
                              frozenset(collections) if collections is not None else None)

    for secret in _split(settings.admin_keys.get_secret_value()):
        add(secret, "admin", frozenset())
    for secret in _split(settings.widget_keys.get_secret_value()):
        add(secret, "widget", shared_origins)
    if settings.keys_file is not None:
        listed = _read_keys_file(Path(settings.keys_file))
        for i, entry in enumerate(listed.admin_keys):
            if isinstance(entry, str):
                add(entry, "admin", frozenset())
            else:
                add(entry.key, "admin", frozenset(), entry.collections, f"admin_keys.{i}")
        for i, entry in enumerate(listed.widget_keys):
            add(entry.key, "widget", _origins(entry.origins) or shared_origins, entry.collections, f"widget_keys.{i}")
    return KeyRing(keys)


def own_origins(settings: Settings) -> frozenset[str]:
    """Where the server's own pages (``/widget``) are served from, as browsers name it."""
    if settings.public_url:
        return frozenset({normalize_origin(settings.public_url)})
    hosts = {settings.host} | ({"127.0.0.1", "localhost"} if settings.host in ("127.0.0.1", "localhost", "::1") else set())
    return frozenset(f"http://{host}:{settings.port}" for host in hosts)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _origins(values: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize_origin(v) for v in values)


def _read_keys_file(path: Path) -> _KeysFile:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        return _KeysFile.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"cannot read the keys file {path}: {exc.strerror}") from None
    except ValidationError as exc:  # report where, never the values (they are keys)
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ConfigError(f"the keys file {path} is not valid at {where}: {first['msg']}") from None
    except ValueError as exc:  # JSON/TOML syntax: the message names a line and column only
        raise ConfigError(f"the keys file {path} is not valid: {exc}") from None
