"""Instructions per request, counted by valgrind's callgrind: what a proxy costs in CPU work,
whatever else runs on the machine (requests per second on a shared 2-core machine move by
a third from one run to the next; these counts by well under 1%).

Each proxy process runs under callgrind with counting off; after a warm-up, counting is on for
`count` requests sent one after another on one connection, then off, and the total is read
from callgrind's dump. User-space instructions only: the kernel's share of each send() and
recv() is not in them, nor the other processes' (the fake Copilot, the client).
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

WARM_UP = 30


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def per_request(command: list[str], port: int, path: str, body: dict, *, env: dict[str, str] | None = None,
                count: int = 200) -> float:
    """Instructions per request of the server `command` starts on `port` (it is stopped after)."""
    out = Path(tempfile.mkdtemp(prefix="colalamo-callgrind-"))
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/callgrind.out", *command],
        env={**os.environ, **(env or {})}, cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connection = _connected(port, process)
        payload = json.dumps(body).encode()
        _send(connection, path, payload, WARM_UP)
        _control(process.pid, "-i", "on")
        _send(connection, path, payload, count)
        _control(process.pid, "-i", "off")
        _control(process.pid, "-d")
        connection.close()
    finally:
        process.terminate()
        process.wait()
    total = max((int(line.split()[1]) for name in glob.glob(f"{out}/callgrind.out*") for line in open(name)
                 if line.startswith(("summary:", "totals:"))), default=0)
    shutil.rmtree(out, ignore_errors=True)
    return total / count


def _connected(port: int, process: subprocess.Popen) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 300  # a process under valgrind starts slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the process under valgrind exited with {process.returncode}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.connect()
            return connection
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"nothing listened on {port} under valgrind")


def _send(connection: http.client.HTTPConnection, path: str, payload: bytes, count: int) -> None:
    for _ in range(count):
        connection.request("POST", path, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status} under valgrind")


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)
