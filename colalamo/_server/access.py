"""Who may use the API: keys (Bearer or x-api-key), and CORS for browsers."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

import aiohttp_cors
from aiohttp import web

from .._upstream.context import begin_call
from .._upstream.interaction import SESSION_HEADER
from ..config import Settings
from .app_keys import SETTINGS
from .errors import ApiError
from .observe import OBSERVED

OPEN_PATHS = frozenset({"/", "/health", "/ready"})  # probes must work without a key
OPEN_PREFIXES = ("/ui/",)  # the status page's files: they hold nothing (its JSON needs the key)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def generated_key_needed(settings: Settings) -> bool:
    """Listening beyond this machine with no key and no explicit --no-auth: make one up."""
    return not settings.api_keys and not settings.no_auth and not is_loopback(settings.host)


def new_api_key() -> str:
    return "clm-" + secrets.token_urlsafe(24)


def presented_key(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.headers.get("x-api-key") or None


def _key_bytes(key: str) -> bytes:
    # aiohttp hands bytes that are not UTF-8 over as surrogates (so does os.environ): they
    # turn back into those bytes, and a header no key matches is a 401, never an encoding error
    try:
        return key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no decoding made: still bytes, still no match
        return key.encode("utf-8", "surrogatepass")


def key_matches(presented: str, keys: tuple[str, ...]) -> bool:
    # Compare with every key, in constant time, so timing tells nothing about any of them.
    found = False
    presented_bytes = _key_bytes(presented)
    for key in keys:
        found |= hmac.compare_digest(presented_bytes, _key_bytes(key))
    return found


def key_id(key: str) -> str:
    """A name for a key that can be shown (logs, metrics, budgets) without showing the key."""
    return "key-" + hashlib.sha256(_key_bytes(key)).hexdigest()[:8]


def checked_key(request: web.Request, keys: tuple[str, ...]) -> str:
    """The key the request presents, when it is one of `keys`; else a 401 saying which is wrong."""
    presented = presented_key(request)
    if presented is None:
        raise ApiError(401, "this colalamo needs an API key: send Authorization: Bearer <key> or x-api-key: <key>",
                       code="missing_api_key")
    if not key_matches(presented, keys):
        raise ApiError(401, "the API key is not valid for this colalamo", code="invalid_api_key")
    return presented


def authorize(request: web.Request) -> None:
    """Check the request's key (an ApiError 401 when it needs one and has none that fits) and
    begin its call context, under the key's id."""
    keys = request.app[SETTINGS].api_keys
    who = "default"
    if keys and request.method != "OPTIONS" and request.path not in OPEN_PATHS \
            and not request.path.startswith(OPEN_PREFIXES):
        who = key_id(checked_key(request, keys))
    # budgets and premium counts are kept per key; the session goes to Copilot (upstream.interaction)
    request[OBSERVED].call = begin_call(who, request.headers.get(SESSION_HEADER))


def enable_cors(app: web.Application, origins: tuple[str, ...]) -> None:
    """Allow the listed browser origins on every route; preflight requests are answered."""
    options = aiohttp_cors.ResourceOptions(allow_headers="*", expose_headers="*", max_age=600)
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in list(app.router.routes()):
        cors.add(route)
