"""A fake GitHub and Copilot, faithful to the wire as real clients see it.

One aiohttp app serves GitHub's device-flow login, GitHub's Copilot token exchange and the
Copilot API, with the quirks of the real services: form-encoded device-flow answers without
`Accept: application/json`, device-flow errors sent with HTTP 200, `slow_down` for polling too
fast, short-lived Copilot tokens that answer 401 `unauthorized: token expired` once expired,
400 without the editor headers, a prompt-filter first stream chunk with empty `choices`,
chunks without `object` (and later ones without `index`), usage in the `finish_reason` chunk,
dated model names, and JSON errors labelled `text/plain`; and the 2026 wire (see
copilot_api.py): 466 for old API versions, one endpoint per model, `/responses`, AI credits.

Knobs let a test inject faults (`fail_next`), cut a stream mid-way (`cut_stream_after`),
script the device flow (`device_script`), run out of credits (`out_of_credits`), shrink a
model's limits (`set_limit`) and read what crossed the wire (`requests`).

Hostile upstreams, for testing what colalamo (or your app) does with them:

- a hanging GitHub or Copilot: `fail_next("token", delay=3600)` (any route);
- a redirect: `fail_next("chat", status=307, headers={"Location": "http://elsewhere/..."})`;
- a gzip bomb: `fail_next("chat", gzip_bomb(64))`, 64 MiB once inflated, 64 KiB on the wire;
- a stream that never ends its event: `fail_next("chat", Fault(status=200, endless_sse="line"))`
  (one line never ended) or `endless_sse="lines"` (data lines never followed by a blank one);
- an error body of any size: `fail_next("chat", status=500, body="x" * 5_000_000)`;
- a GitHub whose clock is off: `github_clock_offset = -3600` hands out tokens already expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import ssl
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from ..config import Settings
from .answers import echo_reply
from .catalogue import default_models, default_quota
from .copilot_api import CopilotApi
from .in_memory import AppConnector
from .reasoning import ReasoningSeal

#: Copilot has answered 466 to older `X-GitHub-Api-Version`s since 2026-02-11.
MIN_API_VERSION = "2025-10-01"
IN_MEMORY_URL = "http://fake-copilot.invalid"  # the host of a fake served in memory (never resolved)
GITHUB_TOKEN = "gho_colalamoFakeGitHubToken0001"
DEVICE_ANSWERS = ("authorization_pending", "slow_down", "expired_token", "access_denied")
ROUTES = ("device_code", "access_token", "token", "user", "models", "chat", "embeddings", "messages", "responses")
#: The largest request body the fake reads: colalamo's default `max_body_mb` (aiohttp's is 1 MB).
MAX_BODY = int(Settings.max_body_mb * 1024 * 1024)


@dataclass
class Fault:
    """What the fake does instead of answering normally."""

    status: int = 500
    body: str = '{"error": {"message": "the fake upstream failed on purpose", "type": "server_error"}}'
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait first; a long delay is a hung upstream
    drop: bool = False  # close the connection without answering at all
    raw: bytes | None = None  # a body sent as is instead of `body` (see gzip_bomb)
    #: "line": an SSE stream of one line that never ends; "lines": data lines never followed
    #: by the blank line that ends an event. Either goes on until the client leaves (or 1 GiB).
    endless_sse: str = ""


ENDLESS_LIMIT = 1024 * 1024 * 1024
ENDLESS_PIECE = 256 * 1024


def gzip_bomb(megabytes: int = 64) -> Fault:
    """A 200 whose gzip body is small on the wire and `megabytes` MiB once inflated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    spaces = b" " * (1024 * 1024)  # valid JSON whitespace: only the size is wrong
    raw = packer.compress(b'{"choices": []') + b"".join(packer.compress(spaces) for _ in range(megabytes))
    raw += packer.compress(b"}") + packer.flush()
    return Fault(status=200, raw=raw, headers={"Content-Encoding": "gzip"})


@dataclass
class RecordedRequest:
    route: str
    method: str
    path: str
    headers: CIMultiDict[str]  # case-insensitive, as HTTP headers are
    body: Any
    at: float = field(default_factory=time.monotonic)  # when it arrived


class FakeCopilot:
    """A fake GitHub + Copilot; `async with FakeCopilot() as fake:` serves it on loopback."""

    def __init__(
        self,
        *,
        github_tokens: Iterable[str] = (GITHUB_TOKEN,),
        token_ttl: float = 1800.0,
        refresh_in: float = 1500.0,
        device_interval: float = 5.0,
        device_expires_in: float = 900.0,
        slow_down_step: float = 5.0,
        models: list[dict[str, Any]] | None = None,
        reply: Callable[[dict[str, Any]], str] = echo_reply,
        shares_tokens_with: FakeCopilot | None = None,
        record: bool = True,
        min_api_version: str | None = MIN_API_VERSION,
    ) -> None:
        self.github_tokens = set(github_tokens)
        self.token_ttl = token_ttl
        self.refresh_in = refresh_in
        self.device_interval = device_interval
        self.device_expires_in = device_expires_in
        self.slow_down_step = slow_down_step
        self.models = models if models is not None else default_models()
        self.reply = reply
        #: Status GitHub gives the token exchange for an account without Copilot (403 or 404).
        self.copilot_denied_status: int | None = None
        #: The Copilot API base the token's `endpoints.api` names (None: this fake).
        self.endpoints_api: str | None = None
        #: The account's quotas, as `copilot_internal/user` reports them; `premium_interactions`
        #: counts AI credits and goes down by the credits each answer costs.
        self.quota = default_quota()
        #: Copilot API calls with an older (or no) `X-GitHub-Api-Version` get 466; None: no gate.
        self.min_api_version = min_api_version
        #: The account has no AI credits left: inference calls get 402 `quota_exceeded`.
        self.out_of_credits = False
        #: AI credits billed so far, in nano-credits (the sum of every `total_nano_aiu`).
        self.credits_charged = 0
        #: Valid reasoning items that came back in `/responses` inputs (by content or reference).
        self.reasoning_items_received = 0
        #: Seconds GitHub's clock is off by, as a machine whose own clock is off would see it:
        #: the `expires_at` of the tokens handed out moves by as much (-3600: an hour expired).
        self.github_clock_offset = 0.0
        #: Seconds the token exchange takes (lets concurrent refreshes overlap in tests).
        self.exchange_delay = 0.0
        #: Answers the device-flow poll gives, in order, before it grants a token.
        self.device_script: deque[str] = deque()
        #: Close streams after this many content pieces, without finishing them.
        self.cut_stream_after: int | None = None
        #: Seconds between stream pieces (a slow model).
        self.piece_delay = 0.0
        self.faults: dict[str, deque[Fault]] = {route: deque() for route in ROUTES}
        self.requests: list[RecordedRequest] = []
        self.exchanges = 0
        self.aborted_streams = 0
        #: Copilot API calls refused for an expired Copilot token.
        self.expired_token_calls = 0
        self.device_polls: list[float] = []
        #: Copilot tokens issued -> expiry; a second fake can accept the first one's tokens
        #: (a separate Copilot API host, as `endpoints.api` may name).
        self._copilot_tokens: dict[str, float] = shares_tokens_with._copilot_tokens if shares_tokens_with else {}
        #: Seals reasoning items' `encrypted_content` (shared with that second fake too).
        self.reasoning_seal: ReasoningSeal = (
            shares_tokens_with.reasoning_seal if shares_tokens_with else ReasoningSeal()
        )
        #: Output items of stored responses (`store` not false), by id, for `item_reference`.
        self._stored_items: dict[str, dict[str, Any]] = {}
        #: Keep a record of each request (`requests`); off for load tests.
        self.record = record
        self._device_code: str | None = None
        self._device_deadline = 0.0
        self._device_interval_now = device_interval
        self._last_poll = 0.0
        self._runner: web.AppRunner | None = None
        self.url = ""

    # test controls --------------------------------------------------------------------------

    def fail_next(self, route: str, fault: Fault | None = None, *, times: int = 1, **fields: Any) -> None:
        """Make the next `times` calls of `route` (one of ROUTES) fail with `fault`."""
        if route not in self.faults:
            raise ValueError(f"unknown route {route!r}; one of {', '.join(ROUTES)}")
        for _ in range(times):
            self.faults[route].append(fault or Fault(**fields))

    def expire_copilot_tokens(self) -> None:
        """Every Copilot token issued so far now gets 401 `unauthorized: token expired`."""
        for token in self._copilot_tokens:
            self._copilot_tokens[token] = 0.0

    def set_limit(self, model_id: str, **limits: int) -> None:
        """Change a model's `capabilities.limits`, e.g. `set_limit("gpt-4.1", max_prompt_tokens=50)`
        to make a short prompt overflow."""
        model = next((m for m in self.models if m["id"] == model_id), None)
        if model is None:
            raise KeyError(f"no model {model_id!r} in the fake's catalogue")
        model["capabilities"]["limits"].update(limits)

    def revoke_github_token(self, token: str = GITHUB_TOKEN) -> None:
        self.github_tokens.discard(token)

    def recorded(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    def env(self) -> dict[str, str]:
        """COLALAMO_* variables that point colalamo at this fake."""
        return {
            "COLALAMO_GITHUB_URL": self.url,
            "COLALAMO_GITHUB_API_URL": self.url,
            "COLALAMO_GITHUB_TOKEN": GITHUB_TOKEN,
        }

    def settings(self, **overrides: Any) -> Settings:
        """colalamo `Settings` that point at this fake (the Copilot API via `endpoints.api`)."""
        values: dict[str, Any] = {
            "github_url": self.url,
            "github_api_url": self.url,
            "github_token": GITHUB_TOKEN,
        }
        values.update(overrides)
        return Settings(**values)

    # lifecycle ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/login/device/code", self._device_code_route)
        app.router.add_post("/login/oauth/access_token", self._access_token_route)
        app.router.add_get("/copilot_internal/v2/token", self._token_route)
        app.router.add_get("/copilot_internal/user", self._user_route)
        CopilotApi(self).add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, ssl_context: ssl.SSLContext | None = None) -> str:
        """Serve on host:port (0: a free port), over TLS when given a context; return the URL."""
        self._runner = web.AppRunner(self.app(), handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"{'https' if ssl_context else 'http'}://{bound_host}:{bound_port}"
        return self.url

    @asynccontextmanager
    async def in_memory(self) -> AsyncIterator[aiohttp.ClientSession]:
        """Serve with no socket and no thread: yields an `aiohttp.ClientSession` whose every
        request reaches this fake through memory, on the running loop. Hand it to
        `AsyncCopilot(settings, session=...)` with `fake.settings(...)` as the settings."""
        self._runner = web.AppRunner(self.app(), handler_cancellation=True, access_log=None)
        await self._runner.setup()
        self.url = IN_MEMORY_URL
        server = self._runner.server
        assert server is not None
        try:
            async with aiohttp.ClientSession(connector=AppConnector(server)) as session:
                yield session
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeCopilot:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # plumbing -------------------------------------------------------------------------------

    async def _record(self, route: str, request: web.Request) -> Any:
        raw = await request.read()
        if request.content_type == "application/x-www-form-urlencoded":
            body: Any = dict(await request.post())
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        if self.record:
            self.requests.append(
                RecordedRequest(route, request.method, request.path, CIMultiDict(request.headers), body)
            )
        return body

    async def _fault(self, route: str, request: web.Request) -> web.StreamResponse | None:
        if not self.faults[route]:
            return None
        fault = self.faults[route].popleft()
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError  # aiohttp drops the handler; nothing is sent
        if fault.endless_sse:
            return await self._endless_sse(request, fault)
        if fault.raw is not None:
            return web.Response(status=fault.status, body=fault.raw, content_type=fault.content_type,
                                headers=fault.headers)
        return web.Response(
            status=fault.status, text=fault.body, content_type=fault.content_type, headers=fault.headers
        )

    @staticmethod
    async def _endless_sse(request: web.Request, fault: Fault) -> web.StreamResponse:
        response = web.StreamResponse(status=fault.status, headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        piece = b"x" * ENDLESS_PIECE if fault.endless_sse == "line" else b"data: " + b"x" * ENDLESS_PIECE + b"\n"
        sent = 0
        with contextlib.suppress(ConnectionError):
            await response.write(b"data: " if fault.endless_sse == "line" else b"")
            while sent < ENDLESS_LIMIT:
                await response.write(piece)
                sent += len(piece)
        return response

    # GitHub ---------------------------------------------------------------------------------

    @staticmethod
    def _github_answer(request: web.Request, payload: dict[str, Any]) -> web.Response:
        # GitHub answers form-encoded unless the client asks for JSON.
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response(payload)
        return web.Response(text=urlencode(payload), content_type="application/x-www-form-urlencoded")

    async def _device_code_route(self, request: web.Request) -> web.StreamResponse:
        form = await self._record("device_code", request)
        if (failed := await self._fault("device_code", request)) is not None:
            return failed
        if not isinstance(form, dict) or not form.get("client_id"):
            return self._github_answer(request, {"error": "unauthorized_client"})
        self._device_code = secrets.token_hex(20)
        self._device_deadline = time.monotonic() + self.device_expires_in
        self._device_interval_now = self.device_interval
        self._last_poll = 0.0
        return self._github_answer(
            request,
            {
                "device_code": self._device_code,
                "user_code": "FAKE-C0DE",
                "verification_uri": f"{self.url}/login/device",
                "expires_in": self.device_expires_in,
                "interval": self.device_interval,
            },
        )

    async def _access_token_route(self, request: web.Request) -> web.StreamResponse:
        form = await self._record("access_token", request)
        if (failed := await self._fault("access_token", request)) is not None:
            return failed
        now = time.monotonic()
        self.device_polls.append(now)
        if not isinstance(form, dict) or form.get("device_code") != self._device_code:
            return self._github_answer(request, {"error": "incorrect_device_code"})
        if now > self._device_deadline:
            return self._github_answer(request, {"error": "expired_token"})
        too_soon = self._last_poll and now - self._last_poll < self._device_interval_now - 0.01
        self._last_poll = now
        answer = "slow_down" if too_soon else (self.device_script.popleft() if self.device_script else None)
        if answer == "slow_down":
            self._device_interval_now += self.slow_down_step
            return self._github_answer(
                request, {"error": "slow_down", "interval": self._device_interval_now}
            )
        if answer in DEVICE_ANSWERS:
            return self._github_answer(request, {"error": answer, "error_description": answer})
        token = "gho_" + secrets.token_hex(18)
        self.github_tokens.add(token)
        self._device_code = None
        return self._github_answer(
            request, {"access_token": token, "token_type": "bearer", "scope": "read:user"}
        )

    async def _token_route(self, request: web.Request) -> web.StreamResponse:
        await self._record("token", request)
        self.exchanges += 1
        if self.exchange_delay:
            await asyncio.sleep(self.exchange_delay)
        if (failed := await self._fault("token", request)) is not None:
            return failed
        scheme, _, github_token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or github_token not in self.github_tokens:
            return web.json_response(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                status=401,
            )
        if self.copilot_denied_status:
            return web.json_response({"message": "Not Found"}, status=self.copilot_denied_status)
        now = time.time()
        expires_at = now + self.token_ttl
        token = f"tid={secrets.token_hex(16)};exp={int(expires_at)};sku=copilot_fake;8kp=1:{secrets.token_hex(8)}"
        self._copilot_tokens[token] = expires_at
        return web.json_response(
            {
                "token": token,
                "expires_at": expires_at + self.github_clock_offset,
                "refresh_in": self.refresh_in,
                "endpoints": {"api": self.endpoints_api or self.url, "proxy": self.url, "telemetry": self.url},
                "sku": "copilot_fake",
                "chat_enabled": True,
                "annotations_enabled": True,
            }
        )

    async def _user_route(self, request: web.Request) -> web.StreamResponse:
        await self._record("user", request)
        if (failed := await self._fault("user", request)) is not None:
            return failed
        scheme, _, github_token = request.headers.get("Authorization", "").partition(" ")
        if github_token not in self.github_tokens:
            return web.json_response({"message": "Bad credentials"}, status=401)
        return web.json_response(self.quota)
