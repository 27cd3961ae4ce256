"""Nothing leaks: after 10,000 mixed requests (whole answers, streams, streams the client
abandons, upstream errors) the server's descriptors and upstream connections go back to idle."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import threading

import aiohttp
import psutil
import pytest
from helpers import USER_HELLO

from colalamo.testing import running_fake, wait_until

COLALAMO = shutil.which("colalamo") or "colalamo"
TOTAL, CONCURRENCY = 10_000, 50


async def one(http: aiohttp.ClientSession, url: str, kind: str) -> None:
    body: dict = {"model": "gpt-4.1", "messages": USER_HELLO}
    if kind == "error":
        body["model"] = "gpt-9000"  # Copilot refuses it: an upstream 400
    if kind in ("stream", "abandon"):
        body["stream"] = True
    async with http.post(f"{url}/v1/chat/completions", json=body) as response:
        if kind == "abandon":
            await response.content.readline()
            response.close()  # the client walks away mid-stream
            return
        await response.read()


async def load(url: str, count: int) -> None:
    kinds = random.Random(7).choices(["whole", "stream", "abandon", "error"], weights=[5, 2, 2, 1], k=count)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)
    async with aiohttp.ClientSession() as http:
        async def worker() -> None:
            while not queue.empty():
                await one(http, url, queue.get_nowait())
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def upstream_connections(process: psutil.Process, port: int) -> int:
    connections = process.net_connections(kind="tcp")
    return sum(1 for c in connections if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED")


@pytest.mark.timeout(240)
def test_ten_thousand_mixed_requests_leave_nothing_behind(tmp_path) -> None:
    with running_fake(record=False) as fake:
        fake.reply = lambda body: "a few words for the stream to carry along"
        fake.fail_next("chat", times=300, status=500, body="flaky", content_type="text/plain")
        env = {**os.environ, **fake.env(), "COLALAMO_TOKEN_FILE": str(tmp_path / "token"),
               "COLALAMO_LOG_LEVEL": "warning"}
        server = subprocess.Popen([COLALAMO, "serve", "--port", "0"], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(iter(server.stdout.readline, "")), daemon=True).start()
        try:
            wait_until(lambda: any("listening" in line for line in lines), timeout=30)
            port = int(lines[0].rsplit(":", 1)[1])
            url = f"http://127.0.0.1:{port}"
            process = psutil.Process(server.pid)
            fake_port = int(fake.url.rsplit(":", 1)[1])

            asyncio.run(load(url, 500))  # warm up: the pool grows to its working size
            idle_fds = process.num_fds()
            idle_upstream = upstream_connections(process, fake_port)

            asyncio.run(load(url, TOTAL))

            # What may stay: one pooled upstream connection per concurrent request, and the
            # client's keep-alive connections. A leak of 10,000 requests would be thousands.
            bound = idle_fds + 2 * CONCURRENCY + 10
            wait_until(lambda: process.num_fds() <= bound, timeout=60, interval=0.5)
            upstream_bound = max(idle_upstream, CONCURRENCY)
            wait_until(lambda: upstream_connections(process, fake_port) <= upstream_bound, timeout=60, interval=0.5)
            assert server.poll() is None  # still serving
        finally:
            server.terminate()
            assert server.wait(timeout=60) == 0
