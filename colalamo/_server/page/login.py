"""Logging in from the status page: the same device flow as `colalamo login`
(`colalamo._auth.login_and_store`), run in the server, its progress kept for the page to poll.

One flow at a time. When it grants a token, the token is stored like `colalamo login` stores
it and the core finishes starting with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..._auth import DeviceCode, login_and_store
from ..._auth.device_flow import print_prompt
from ..._core import Core
from ...exceptions import ColalamoError

log = logging.getLogger(__name__)

SLOW_DOWN_MESSAGE = "GitHub asked colalamo to poll less often (slow_down); still waiting for your approval"


class PageLogin:
    """The state of the page's login: idle, pending (a code to enter), done or failed."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._task: asyncio.Task[None] | None = None
        self._code: DeviceCode | None = None
        self._expires_at = 0.0
        self._state = "idle"
        self._message: str | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start a device flow unless one is running."""
        if self.running:
            return
        self._code, self._state, self._message = None, "starting", None
        self._task = asyncio.get_running_loop().create_task(self._run(), name="colalamo-page-login")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def state(self) -> dict[str, Any]:
        """What the page shows. The device code is the one a person types on GitHub: it is shown
        only to a request allowed to log in (the route checks)."""
        if self._core.logged_in and self._state != "done":
            return {"state": "logged_in"}
        shown: dict[str, Any] = {"state": self._state, "message": self._message}
        if self._code is not None and self._state in ("pending", "slow_down"):
            shown.update(
                user_code=self._code.user_code,
                verification_uri=self._code.verification_uri,
                expires_in=max(0, round(self._expires_at - time.monotonic())),
            )
        if self._state == "done":
            shown["state"] = "logged_in"
        return shown

    def _on_code(self, code: DeviceCode) -> None:
        self._code, self._state = code, "pending"
        self._expires_at = time.monotonic() + code.expires_in
        print_prompt(code)  # the terminal sees it too, as with `colalamo login`

    def _on_answer(self, answer: str) -> None:
        if answer == "slow_down":
            self._state, self._message = "slow_down", SLOW_DOWN_MESSAGE

    async def _run(self) -> None:
        core = self._core
        try:
            token = await login_and_store(core.http, core.settings, on_code=self._on_code, on_answer=self._on_answer)
            await core.log_in(token)
        except ColalamoError as exc:
            self._state, self._message = "failed", exc.message
            log.warning("the login from the page failed: %s", exc.message)
        else:
            self._state, self._message = "done", None
            log.info("logged in from the status page")
