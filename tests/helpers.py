"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import aiohttp
from multidict import CIMultiDict

from colalamo.testing import Pacing, wait_until

COLALAMO = shutil.which("colalamo") or "colalamo"

USER_HELLO = [{"role": "user", "content": "hello there"}]

#: For the tests that wait on colalamo's retries of Copilot connections, token refreshes and
#: their back-off: the same steps as the product's pacing, a fifth to a tenth of its waits.
QUICK = Pacing(connect_retry_delays=(0.01, 0.03, 0.09), refresh_floor=0.2, backoff_first=0.2)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(method: str, url: str, body: Any = None, *, data: bytes | str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, CIMultiDict[str], Any]:
    """One HTTP request, as a client would send it: `body` as JSON or `data` as it is. Returns
    the status, the headers and the answer (parsed JSON, else its text)."""
    async def main() -> tuple[int, CIMultiDict[str], Any]:
        async with aiohttp.ClientSession() as http:
            async with http.request(method, url, json=body, data=data, headers=headers or {}) as response:
                text = await response.text()
                try:
                    answer: Any = json.loads(text)
                except ValueError:
                    answer = text
                return response.status, CIMultiDict(response.headers), answer
    return asyncio.run(main())


def get_json(url: str, key: str | None = None) -> Any:
    """A GET that must answer 200 (with `key` as x-api-key), its JSON."""
    status, _, answer = call("GET", url, headers={"x-api-key": key} if key else None)
    assert status == 200, answer
    return answer


def metric(text: str, name: str, **labels: str) -> float:
    """A sample's value in a /metrics text (0 when it is not there)."""
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def sse_events(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]


class Served:
    """A `colalamo` process whose output is collected on threads, so reading never blocks;
    started with `args` (e.g. `serve --port 0`), ready once it says where it listens."""

    def __init__(self, args: list[str], env: dict[str, str], *, preexec: Callable[[], None] | None = None) -> None:
        self.process = subprocess.Popen([COLALAMO, *args], env=env, text=True, preexec_fn=preexec,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True)
                         for stream, sink in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()
        wait_until(lambda: self.port is not None or self.process.poll() is not None, timeout=30)
        assert self.port is not None, "".join(self.stderr)
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int | None:
        match = re.search(r"colalamo is listening on [^:]+:(\d+)", "".join(self.stdout))
        return int(match.group(1)) if match else None

    @property
    def log(self) -> str:
        return "".join(self.stderr)

    def stop(self) -> int:
        """SIGTERM, then its exit status once its output has all been read."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=30)
        for reader in self._readers:  # they end with the pipes
            reader.join(timeout=10)
        return status
