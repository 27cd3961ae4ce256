"""The core that the library and the server share: one HTTP session, the GitHub token, the
Copilot token lifecycle and the Copilot client. Neither has a second copy of any of it."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Callable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, NoReturn

import aiohttp

from ._auth import DeviceCode, GitHubToken, find_github_token, login_and_store
from ._auth.device_flow import print_prompt
from ._auth.device_id import load_identity
from ._auth.github_http import github_timeout
from ._state import RequestHistory, SharedState, open_state
from ._upstream.client import CopilotClient
from ._upstream.pacing import PACING, Pacing
from ._upstream.quota import fetch_quota
from ._upstream.token_manager import TokenManager
from .config import Settings
from .exceptions import AuthError, LoginRequired, UpstreamError

log = logging.getLogger(__name__)

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def new_http_session(settings: Settings) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(
        total=None,  # a long answer may stream for minutes; a silent upstream is caught below
        connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )
    # The default context trusts the system CAs, and SSL_CERT_FILE; a corporate CA for a
    # TLS-inspecting proxy can be named instead.
    tls = ssl.create_default_context(cafile=settings.ca_bundle) if settings.ca_bundle else True
    # No connection cap here: how many requests run at once is the server's decision.
    connector = aiohttp.TCPConnector(limit=0, ssl=tls)
    # trust_env honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as corporate networks need; it
    # costs two thread hops per request (aiohttp reads the environment in a thread), so only
    # where a proxy is configured.
    return aiohttp.ClientSession(timeout=timeout, connector=connector, trust_env=proxy_configured())


def proxy_configured() -> bool:
    return any(os.environ.get(name) for name in PROXY_VARIABLES)


async def github_token(
    http: aiohttp.ClientSession,
    settings: Settings,
    *,
    interactive: bool = True,
    on_code: Callable[[DeviceCode], None] = print_prompt,
) -> GitHubToken:
    """The GitHub token to use; when none is found, the device login (if interactive)."""
    found = await asyncio.to_thread(find_github_token, settings)
    if found is not None:
        log.info("using the GitHub token from %s", found.source)
        return found
    if not interactive:
        raise LoginRequired("no GitHub token found: run `colalamo login`, or set COLALAMO_GITHUB_TOKEN")
    log.info("no GitHub token found; starting the GitHub device login")
    return await login_and_store(http, settings, on_code=on_code)


async def ensure_logged_in(settings: Settings) -> None:
    """Log in now if needed, so that worker processes all find the stored token."""
    async with new_http_session(settings) as http:
        await github_token(http, settings)


class Core:
    """Started once per process (server) or per client object (library)."""

    def __init__(
        self,
        settings: Settings,
        *,
        interactive_login: bool = True,
        on_code: Callable[[DeviceCode], None] = print_prompt,
        token_at_start: bool = True,
        wait_for_login: bool = False,
        http: aiohttp.ClientSession | None = None,
        pacing: Pacing = PACING,
    ) -> None:
        self.settings = settings
        self._pacing = pacing  # the product's, unless a test passes a quicker one
        # the server asks for its first token once its port is bound (first_token), the
        # library as it starts
        self._token_at_start = token_at_start
        self._interactive_login = interactive_login
        # With no GitHub token, start logged out and wait for `log_in` (the status page's
        # login) instead of running the device flow on the terminal before serving.
        self._wait_for_login = wait_for_login
        self._on_code = on_code
        self._http: aiohttp.ClientSession | None = None
        # a session the caller gives (a test's in-memory one, a proxy's): used, never closed
        self._given_http = http
        self._github: GitHubToken | None = None
        self._tokens: TokenManager | None = None
        self._copilot: CopilotClient | None = None
        self._state: SharedState | None = None
        self._state_scope = AsyncExitStack()

    @property
    def state(self) -> SharedState:
        """What outlives a request (back-off, budgets, stored responses, history), opened
        with the core and closed with it."""
        if self._state is None:
            raise RuntimeError("the core is not started")
        return self._state

    @property
    def history(self) -> RequestHistory | None:
        """The request ledger, while the core is started."""
        return self._state.history if self._state is not None else None

    @property
    def tokens(self) -> TokenManager:
        if self._tokens is None:
            self._not_started()
        return self._tokens

    @property
    def started(self) -> bool:
        return self._tokens is not None

    @property
    def logged_in(self) -> bool:
        """False while a core started with `wait_for_login` has no GitHub token yet."""
        return self._copilot is not None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("the core is not started")
        return self._http

    @property
    def copilot(self) -> CopilotClient:
        if self._copilot is None:
            self._not_started()
        return self._copilot

    def _not_started(self) -> NoReturn:
        if self._http is not None:  # started, waiting for a login
            raise LoginRequired("colalamo is not logged in to GitHub yet: open its page "
                                "(http://<host>:<port>/) and log in there, or run `colalamo login`")
        raise RuntimeError("the core is not started")

    async def start(self) -> None:
        self._http = self._given_http or new_http_session(self.settings)
        try:
            self._state = await self._state_scope.enter_async_context(open_state(self.settings))
            if not self._wait_for_login:
                await self._start_with(await self._github_token())
                return
            found = await asyncio.to_thread(find_github_token, self.settings)
            if found is None:
                log.warning("no GitHub token found: open colalamo's page in a browser to log in, "
                            "or run `colalamo login`")
                return
            log.info("using the GitHub token from %s", found.source)
            await self._start_with(found)
        except BaseException:
            await self.aclose()
            raise

    async def log_in(self, github: GitHubToken) -> None:
        """Finish the start of a core that waited for a login, with the token just granted."""
        if self._http is None or self._copilot is not None:
            raise RuntimeError("log_in is for a started core that is not logged in")
        await self._start_with(github)  # on failure it stays logged out, ready for another try

    async def _start_with(self, github: GitHubToken) -> None:
        assert self._http is not None
        try:
            self._github = github
            identity = await load_identity(self.settings)
            self._tokens = TokenManager(self._http, self.settings.github_api_url, github.value, identity=identity,
                                        timeout=github_timeout(self.settings), wait=self.settings.token_wait,
                                        pacing=self._pacing)
            if self._token_at_start and (failure := await self._first_token()) is not None:
                # the library's calls ask again and say why they fail; the quota needs none
                log.info("could not get a Copilot token yet (%s); the first call tries again", failure)
            self._tokens.start()
            self._copilot = CopilotClient(self._http, self._tokens, self.settings, self.state, self._pacing)
            self._copilot.catalogue.start()
        except BaseException:
            await self._stop_clients()
            raise

    async def first_token(self) -> None:
        """The server's first Copilot token, once its port is bound: a rejected GitHub token
        raises now (AuthError), not mid-request; GitHub having a bad minute only warns (the
        background refresher goes on, and /ready says not ready until there is a token)."""
        failure = await self._first_token()
        if failure is not None:
            log.warning("could not get a Copilot token yet (%s); serving anyway, not ready until there is one",
                        failure)

    async def _first_token(self) -> str | None:
        """Wait for the first Copilot token (at most COLALAMO_TOKEN_WAIT): None once there is
        one, else why there is none. A rejected GitHub token raises AuthError."""
        if self._tokens is None:
            return None  # logged out: the page's login starts it
        try:
            await self._tokens.get()
        except AuthError:
            raise
        except UpstreamError as exc:
            return exc.message
        return None

    async def quota(self) -> dict[str, Any]:
        """The account's plan, quota reset date and quota snapshots."""
        if self._http is None or self._github is None:
            raise RuntimeError("the core is not started")
        return await fetch_quota(self._http, self.settings.github_api_url, self._github.value, self.tokens.identity,
                                 timeout=github_timeout(self.settings))

    async def _github_token(self) -> GitHubToken:
        assert self._http is not None
        return await github_token(
            self._http, self.settings, interactive=self._interactive_login, on_code=self._on_code
        )

    async def _stop_clients(self) -> None:
        if self._copilot is not None:
            await self._copilot.catalogue.stop()
        if self._tokens is not None:
            await self._tokens.stop()
        self._github = self._tokens = self._copilot = None

    async def aclose(self) -> None:
        await self._stop_clients()
        try:
            await self._state_scope.aclose()  # what is queued (counts, rows, responses) is written
        finally:
            self._state = None
            if self._http is not None and self._http is not self._given_http:
                await self._http.close()
            self._http = None

    async def __aenter__(self) -> Core:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
