"""colalamo's benchmark: what colalamo adds over a bare pass-through, on this machine.

Starts the fake Copilot (`python -m colalamo.testing`), the 20-line pass-through
(`bench/passthrough.py`), the floor (`bench/floor.py`: the least a proxy shaped like colalamo
does, with none of its features) and colalamo, each as its own process, and drives each with
`wrk` (C, so the load generator is not the bottleneck; `apt-get install wrk`): whole answers and streams
(wrk reads the whole SSE answer), at concurrency 1 and 32; then, through colalamo only, a
premium model, a request with tools, and `/v1/messages` and `/v1/responses`, native and
translated. Then 1,000 slow streams at once through colalamo (`bench/load.py`, a Python client:
that figure is colalamo's memory, not throughput), and the SSE reader on one 16 MiB event.
colalamo runs on uvloop when it is installed (`pip install -e '.[fast]'`); then the chat rows
at concurrency 32 are run again with colalamo on asyncio's own loop, for uvloop's figure. Prints
one table, the ratios and the targets of issue 13, and exits 1 when a target is missed or a row
failed (a non-2xx answer or a socket error). A missed target says what the floor reached: one
the floor misses too is out of reach of any design on this stack, on this machine. With
`--instructions` (valgrind), it also counts the instructions each proxy runs per request: on a
shared machine, the one figure that does not move with the other processes' load
(bench/instructions.py).

    python bench/run.py                  # about three minutes
    python bench/run.py --instructions   # and a minute and a half more
    python bench/run.py --quick          # one-second rows, for a smoke test
    python bench/run.py --redis          # only: colalamo with and without COLALAMO_REDIS_URL, c=1 (issue 14)
    python bench/run.py --redis --instructions   # and what Redis adds to a premium call, in instructions
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import instructions

HERE = Path(__file__).resolve().parent
ASYNCIO = "col. asyncio"  # colalamo on asyncio's own loop (the main one runs on uvloop when installed)
FLOOR = "floor"  # bench/floor.py: colalamo's shape on aiohttp, none of its features
GITHUB_TOKEN = "gho_colalamoFakeGitHubToken0001"
COPILOT_HEADERS = {"Editor-Version": "vscode/1.104.3", "Copilot-Integration-Id": "vscode-chat"}
PROMPT = "tell me something about proxies please"
TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file of the workspace.",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}]

# The bodies, by kind: each is sent with "stream": false and "stream": true.
BODIES: dict[str, dict] = {
    "chat": {"model": "gpt-4.1", "messages": [{"role": "user", "content": PROMPT}]},
    "premium": {"model": "o3-mini", "messages": [{"role": "user", "content": PROMPT}]},
    "tools": {"model": "gpt-4.1", "messages": [{"role": "user", "content": PROMPT}], "tools": TOOLS},
    "messages": {"model": "claude-sonnet-4", "max_tokens": 256, "messages": [{"role": "user", "content": PROMPT}]},
    "messages-x": {"model": "gpt-4.1", "max_tokens": 256, "messages": [{"role": "user", "content": PROMPT}]},
    "responses": {"model": "gpt-5.3-codex", "input": PROMPT},
    "responses-x": {"model": "gpt-4.1", "input": PROMPT},
}
PATHS = {"chat": "/v1/chat/completions", "premium": "/v1/chat/completions", "tools": "/v1/chat/completions",
         "messages": "/v1/messages", "messages-x": "/v1/messages",
         "responses": "/v1/responses", "responses-x": "/v1/responses"}
LABELS = {"chat": "chat gpt-4.1", "premium": "chat o3-mini (premium)", "tools": "chat gpt-4.1 + tools",
          "messages": "messages claude (native)", "messages-x": "messages gpt-4.1 (transl.)",
          "responses": "responses codex (native)", "responses-x": "responses gpt-4.1 (transl.)"}

# wrk calls done() once at the end; it prints one JSON line, so nothing is parsed from wrk's prose.
LUA = """wrk.method = "POST"
wrk.body = [==[%(body)s]==]
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nBENCH {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, '
    .. '"p99_us": %%d, "status_errors": %%d, "socket_errors": %%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Target:
    name: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    chat_path: str = "/v1/chat/completions"
    process: subprocess.Popen | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"{command[0]} did not start listening on {port}")


def rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench/run.py drives load with wrk, which is not installed: "
                         "`sudo apt-get install wrk` (Debian, Ubuntu) or `brew install wrk`")
    return found


def wrk_version() -> str:
    # wrk has no --version flag that exits 0; its usage text starts with the version.
    result = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True)
    return (result.stdout or result.stderr).split(" Copyright")[0].strip()


def wrk(url: str, body: dict, headers: dict[str, str], *, concurrency: int, seconds: int) -> dict:
    sent = {**headers, "Content-Type": "application/json"}
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in sent.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"body": json.dumps(body), "headers": header_lines})
    try:
        # wrk takes whole seconds only.
        command = [wrk_path(), "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                   "-s", script.name, url]
        finished = subprocess.run(command, capture_output=True, text=True)
        output = finished.stdout
        if finished.returncode != 0:
            raise SystemExit(f"wrk failed for {url}:\n{finished.stdout}{finished.stderr}")
    finally:
        os.unlink(script.name)
    line = next((text for text in output.splitlines() if text.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result for {url}:\n{output}")
    raw = json.loads(line[len("BENCH "):])
    return {"requests": raw["requests"], "rps": raw["requests"] / (raw["duration_us"] / 1e6),
            "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "non2xx": raw["status_errors"], "socket_errors": raw["socket_errors"],
            "failed": raw["status_errors"] > 0 or raw["socket_errors"] > 0 or raw["requests"] == 0}


def copilot_token(fake_url: str) -> str:
    request = urllib.request.Request(f"{fake_url}/copilot_internal/v2/token",
                                     headers={"Authorization": f"token {GITHUB_TOKEN}", **COPILOT_HEADERS})
    return json.loads(urllib.request.urlopen(request).read())["token"]


def fake_env(fake_url: str) -> dict[str, str]:
    return {"COLALAMO_GITHUB_URL": fake_url, "COLALAMO_GITHUB_API_URL": fake_url, "COLALAMO_GITHUB_TOKEN": GITHUB_TOKEN,
            "COLALAMO_LOG_LEVEL": "warning", "COLALAMO_TOKEN_FILE": tempfile.gettempdir() + "/colalamo-bench-token"}


def colalamo_command(port: int) -> list[str]:
    return [shutil.which("colalamo") or "colalamo", "serve", "--port", str(port)]


def start_targets(processes: list[subprocess.Popen]) -> list[Target]:
    fake_port, pass_port, floor_port, col_port = free_port(), free_port(), free_port(), free_port()
    processes.append(start([sys.executable, "-m", "colalamo.testing", "--port", str(fake_port)], fake_port))
    fake_url = f"http://127.0.0.1:{fake_port}"
    token = copilot_token(fake_url)
    processes.append(start([sys.executable, str(HERE / "passthrough.py"), str(pass_port)], pass_port,
                           {"UPSTREAM": fake_url, "TOKEN": token}))
    processes.append(start([sys.executable, str(HERE / "floor.py"), str(floor_port)], floor_port,
                           {"UPSTREAM": fake_url, "TOKEN": token}))
    processes.append(start(colalamo_command(col_port), col_port, fake_env(fake_url)))
    direct_headers = {"Authorization": f"Bearer {token}", **COPILOT_HEADERS}
    targets = [Target("direct", fake_url, direct_headers, "/chat/completions", processes[0]),
               Target("pass-through", f"http://127.0.0.1:{pass_port}", process=processes[1]),
               Target(FLOOR, f"http://127.0.0.1:{floor_port}", process=processes[2]),
               Target("colalamo", f"http://127.0.0.1:{col_port}", process=processes[3])]
    if uvloop_installed():  # the same colalamo on asyncio's own loop, for uvloop's figure
        aio_port = free_port()
        on_asyncio = {**fake_env(fake_url), "COLALAMO_EVENT_LOOP": "asyncio"}
        processes.append(start(colalamo_command(aio_port), aio_port, on_asyncio))
        targets.append(Target(ASYNCIO, f"http://127.0.0.1:{aio_port}", process=processes[-1]))
    return targets


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def measure(target: Target, kind: str, stream: bool, concurrency: int, seconds: int) -> dict:
    path = target.chat_path if kind == "chat" else PATHS[kind]
    body = {**BODIES[kind], "stream": stream}
    url = target.base_url + path
    wrk(url, body, target.headers, concurrency=concurrency, seconds=1)  # warm up
    result = wrk(url, body, target.headers, concurrency=concurrency, seconds=seconds)
    return {"target": target.name, "kind": kind, "stream": stream, "concurrency": concurrency, **result}


def fast_runs(seconds: int) -> tuple[list[dict], dict[str, int]]:
    processes: list[subprocess.Popen] = []
    try:
        targets = start_targets(processes)
        # A fresh process runs its first seconds slower (about a quarter for colalamo): warm every
        # target up first, so the first rows measured are not the ones the ratios divide by.
        for target in targets:
            for stream in (False, True):
                wrk(target.base_url + target.chat_path, {**BODIES["chat"], "stream": stream}, target.headers,
                    concurrency=32, seconds=3)
        main = [t for t in targets if t.name != ASYNCIO]
        rows = [measure(target, "chat", stream, concurrency, seconds)
                for stream in (False, True) for concurrency in (1, 32) for target in main]
        colalamo = main[-1]
        rows += [measure(target, "chat", stream, 32, seconds)  # uvloop's figure: the same rows on asyncio's loop
                 for target in targets if target.name == ASYNCIO for stream in (False, True)]
        rows += [measure(colalamo, kind, stream, 32, seconds)
                 for kind in ("premium", "tools", "messages", "messages-x", "responses", "responses-x")
                 for stream in (False, True)]
        peaks = {target.name: rss_kb(target.process.pid, "VmHWM") for target in targets if target.process}
        return rows, peaks
    finally:
        stop(processes)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
        process.wait()


def python_load(url: str, *, concurrency: int, seconds: float, total: int | None = None) -> dict:
    command = [sys.executable, str(HERE / "load.py"), url, "--stream", "--concurrency", str(concurrency),
               "--seconds", str(seconds)] + (["--total", str(total)] if total else [])
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def slow_streams(count: int, piece_delay: float) -> dict:
    processes: list[subprocess.Popen] = []
    try:
        fake_port, col_port = free_port(), free_port()
        processes.append(start([sys.executable, "-m", "colalamo.testing", "--port", str(fake_port),
                                "--piece-delay", str(piece_delay)], fake_port))
        colalamo = start(colalamo_command(col_port), col_port, fake_env(f"http://127.0.0.1:{fake_port}"))
        processes.append(colalamo)
        url = f"http://127.0.0.1:{col_port}/v1/chat/completions"
        python_load(url, concurrency=4, seconds=0.5)  # warm up
        idle = rss_kb(colalamo.pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(colalamo.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        result = python_load(url, concurrency=count, seconds=0, total=count)
        done.set()
        sampler.join()
        return {**result, "idle_rss_kb": idle, "peak_rss_kb": peak[0], "kb_per_stream": (peak[0] - idle) / count}
    finally:
        stop(processes)


REDIS_BUDGETS = {"COLALAMO_PREMIUM_BUDGET": "1000000000", "COLALAMO_CREDIT_BUDGET": "1000000000"}


def redis_rows(seconds: int, rounds: int) -> list[dict]:
    """`--redis`: the same colalamo with and without COLALAMO_REDIS_URL, budgets set on both (so a
    premium call costs Redis an admission and a settlement), whole answers at concurrency 1,
    the two targets measured in turns, `rounds` times."""
    redis_server = shutil.which("redis-server")
    if not redis_server:
        raise SystemExit("--redis needs redis-server: `sudo apt-get install redis-server`")
    processes: list[subprocess.Popen] = []
    try:
        fake_port, redis_port, local_port, shared_port = free_port(), free_port(), free_port(), free_port()
        processes.append(start([sys.executable, "-m", "colalamo.testing", "--port", str(fake_port)], fake_port))
        processes.append(start([redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], redis_port))
        env = {**fake_env(f"http://127.0.0.1:{fake_port}"), **REDIS_BUDGETS}
        processes.append(start(colalamo_command(local_port), local_port, env))
        processes.append(start(colalamo_command(shared_port), shared_port,
                               {**env, "COLALAMO_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}))
        targets = [Target("colalamo", f"http://127.0.0.1:{local_port}"),
                   Target("with Redis", f"http://127.0.0.1:{shared_port}")]
        for target in targets:
            wrk(target.base_url + target.chat_path, BODIES["premium"], {}, concurrency=32, seconds=3)
        return [measure(target, kind, False, 1, seconds)
                for _ in range(rounds) for kind in ("chat", "premium") for target in targets]
    finally:
        stop(processes)


def redis_instructions() -> dict[str, float]:
    """`--redis --instructions`: instructions per premium call under a budget, colalamo with and
    without Redis (valgrind counts the same on a busy machine as on a quiet one)."""
    processes: list[subprocess.Popen] = []
    try:
        fake_port, redis_port = free_port(), free_port()
        processes.append(start([sys.executable, "-m", "colalamo.testing", "--port", str(fake_port)], fake_port))
        processes.append(start([shutil.which("redis-server") or "redis-server", "--port", str(redis_port), "--bind",
                                "127.0.0.1", "--save", "", "--appendonly", "no"], redis_port))
        env = {**fake_env(f"http://127.0.0.1:{fake_port}"), **REDIS_BUDGETS}
        counts = {}
        for name, extra in (("without Redis", {}), ("with Redis", {"COLALAMO_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"})):
            port = free_port()
            counts[name] = instructions.per_request([sys.executable, "-m", "colalamo", "serve", "--port", str(port)],
                                                    port, PATHS["premium"], BODIES["premium"], env={**env, **extra})
        return counts
    finally:
        stop(processes)


def redis_report(rows: list[dict]) -> bool:
    print_table(rows)
    met = True
    for kind in ("chat", "premium"):
        local = [r["p50_ms"] for r in rows if r["kind"] == kind and r["target"] == "colalamo"]
        shared = [r["p50_ms"] for r in rows if r["kind"] == kind and r["target"] == "with Redis"]
        added = sorted(b - a for a, b in zip(local, shared, strict=True))
        median = added[len(added) // 2]
        print(f"\np50 added by Redis at c=1, {LABELS[kind]}, budgets set: median {median:.2f} ms over "
              f"{len(added)} rounds (from {added[0]:.2f} to {added[-1]:.2f})")
        met = met and median <= 0.3 and not any(r["failed"] for r in rows)
    print(f"\n{'met   ' if met else 'MISSED'}  Redis adds at most 0.3 ms p50 at concurrency 1 (median of the rounds)")
    return met


def sse_reader_ms(size: int = 16 * 1024 * 1024, read: int = 16 * 1024) -> float:
    """Milliseconds (CPU, best of three) colalamo's upstream SSE reader takes for one data
    event of `size` bytes arriving in `read`-byte reads."""
    from colalamo._upstream.sse_reader import SSEParser

    event = b"data: " + b"x" * (size - 8) + b"\n\n"
    chunks = [event[at:at + read] for at in range(0, len(event), read)]
    best = float("inf")
    for _ in range(3):
        parser = SSEParser()
        started = time.thread_time()
        for chunk in chunks:
            parser.feed(chunk)
        best = min(best, time.thread_time() - started)
    return best * 1000


def token_estimate_ms(size: int = 200_000) -> tuple[float, float]:
    """Milliseconds (CPU, best of three) the token estimate takes for an agent's request of
    `size` characters in 10 messages (colalamo's own source as text): the first time, and sent
    again with one message more, as agents do at each turn (what was seen is remembered)."""
    from colalamo import _token_estimate

    source = "".join(path.read_text() for path in sorted((HERE.parent / "colalamo").rglob("*.py")))
    text = (source * (1 + size // len(source)))[:size]
    turns = [{"role": ("user", "assistant")[n % 2], "content": text[n * size // 10:(n + 1) * size // 10]}
             for n in range(10)]
    first = again = float("inf")
    for attempt in range(3):
        _token_estimate._remembered.clear()
        started = time.thread_time()
        _token_estimate.estimate_tokens(turns)
        first = min(first, time.thread_time() - started)
        started = time.thread_time()
        _token_estimate.estimate_tokens([*turns, {"role": "user", "content": f"and now {attempt}?"}])
        again = min(again, time.thread_time() - started)
    return first * 1000, again * 1000


def print_table(rows: list[dict]) -> None:
    print(f"{'target':13} {'request':27} {'mode':6} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} "
          f"{'p99 ms':>7} {'non-2xx':>7} {'sock err':>8}")
    for row in rows:
        flag = "  FAILED" if row["failed"] else ""
        print(f"{row['target']:13} {LABELS[row['kind']]:27} {'stream' if row['stream'] else 'whole':6} "
              f"{row['concurrency']:>4} {row['rps']:8.0f} {row['p50_ms']:7.2f} {row['p90_ms']:7.2f} "
              f"{row['p99_ms']:7.2f} {row['non2xx']:>7} {row['socket_errors']:>8}{flag}")


def targets_met(rows: list[dict], slow: dict, sse_ms: float) -> tuple[dict[str, bool], dict[str, str]]:
    """Each target, met or not; and for the overhead targets, what the floor reached (a target
    the floor misses too cannot be met by any design on this stack, on this machine)."""
    def find(target: str, kind: str, stream: bool, concurrency: int) -> dict:
        wanted = (target, kind, stream, concurrency)
        return next(r for r in rows if (r["target"], r["kind"], r["stream"], r["concurrency"]) == wanted)

    def rps(kind: str, stream: bool, target: str = "colalamo") -> float:
        return find(target, kind, stream, 32)["rps"]

    def added(target: str) -> float:
        return find(target, "chat", False, 1)["p50_ms"] - find("direct", "chat", False, 1)["p50_ms"]

    def through(stream: bool, target: str = "colalamo") -> float:
        return rps("chat", stream, target) / rps("chat", stream, "pass-through")

    pass_added = added("pass-through")
    premium = {s: rps("premium", s) / rps("chat", s) for s in (False, True)}
    translated = {(k, s): rps(k, s) / rps("chat", s) for k in ("messages-x", "responses-x") for s in (False, True)}
    print(f"\np50 added over direct at concurrency 1 (whole): colalamo {added('colalamo'):.2f} ms, "
          f"pass-through {pass_added:.2f} ms, floor {added(FLOOR):.2f} ms")
    print(f"colalamo / pass-through, req/s at concurrency 32: whole {through(False):.2f}, stream {through(True):.2f}"
          f" (floor / pass-through: whole {through(False, FLOOR):.2f}, stream {through(True, FLOOR):.2f})")
    print(f"premium / free (colalamo, c=32): whole {premium[False]:.2f}, stream {premium[True]:.2f}")
    if any(r["target"] == ASYNCIO for r in rows):
        print("uvloop / asyncio's loop (colalamo, req/s at c=32): " + ", ".join(
            f"{'stream' if s else 'whole'} {rps('chat', s) / rps('chat', s, ASYNCIO):.2f}" for s in (False, True)))
    else:
        print("uvloop is not installed (pip install -e '.[fast]'): colalamo ran on asyncio's loop")
    print("translated / chat route (colalamo, c=32): " + ", ".join(
        f"{k.removesuffix('-x')} {'stream' if s else 'whole'} {v:.2f}" for (k, s), v in translated.items()))
    print(f"{slow['requests']} slow streams at once: {slow['errors']} errors, "
          f"{slow['kb_per_stream']:.0f} KB of RSS per stream (idle {slow['idle_rss_kb'] / 1024:.0f} MiB, "
          f"peak {slow['peak_rss_kb'] / 1024:.0f} MiB)")
    print(f"SSE reader: one 16 MiB event in 16 KiB reads parsed in {sse_ms:.0f} ms")
    # name: (colalamo's figure, the floor's, the test)
    overhead = {
        "p50 added over direct at c=1 <= 0.5 ms": (added("colalamo"), added(FLOOR), lambda v: v <= 0.5),
        "p50 added within 0.15 ms of the pass-through's":
            (added("colalamo") - pass_added, added(FLOOR) - pass_added, lambda v: v <= 0.15),
        "req/s at c=32 >= 0.9 of pass-through (whole)": (through(False), through(False, FLOOR), lambda v: v >= 0.9),
        "req/s at c=32 >= 0.9 of pass-through (stream)": (through(True), through(True, FLOOR), lambda v: v >= 0.9),
    }
    met = {"every row: no non-2xx answer, no socket error": not any(r["failed"] for r in rows)}
    met |= {name: test(value) for name, (value, _, test) in overhead.items()}
    floor = {name: f"colalamo {value:.2f}; the floor {at_floor:.2f}, " + ("met" if test(at_floor) else "missed too")
             for name, (value, at_floor, test) in overhead.items()}
    met |= {"premium model within 5% of a free one (whole)": premium[False] >= 0.95,
            "premium model within 5% of a free one (stream)": premium[True] >= 0.95}
    met |= {f"{k.removesuffix('-x')} translated >= 0.8 of chat ({'stream' if s else 'whole'})": v >= 0.8
            for (k, s), v in translated.items()}
    met |= {"1,000 slow streams, no errors": slow["errors"] == 0 and slow["requests"] == 1000,
            "under 50 KB of RSS per slow stream": slow["kb_per_stream"] < 50,
            "SSE reader: a 16 MiB event in 16 KiB reads in under 50 ms": sse_ms < 50}
    return met, floor


def report(rows: list[dict], peaks: dict[str, int], slow: dict, sse_ms: float) -> bool:
    print_table(rows)
    print("\npeak RSS: " + ", ".join(f"{name} {kb / 1024:.0f} MiB" for name, kb in peaks.items()))
    met, floor = targets_met(rows, slow, sse_ms)
    first, again = token_estimate_ms()
    print(f"token estimate of a 200 KB agent request (credit-priced models): {first:.1f} ms, "
          f"{again:.1f} ms sent again one turn longer")
    print()
    for name, ok in met.items():
        print(f"{'met   ' if ok else 'MISSED'}  {name}" + (f"  ({floor[name]})" if name in floor else ""))
    return all(met.values())


def instruction_counts() -> dict[tuple[str, bool], float]:
    """Instructions per request (bench/instructions.py) of the pass-through, the floor and colalamo
    (and colalamo on asyncio's loop, when uvloop is installed), whole and streamed."""
    processes: list[subprocess.Popen] = []
    try:
        fake_port = free_port()
        processes.append(start([sys.executable, "-m", "colalamo.testing", "--port", str(fake_port)], fake_port))
        fake_url = f"http://127.0.0.1:{fake_port}"
        proxies = [("pass-through", lambda port: [sys.executable, str(HERE / "passthrough.py"), str(port)],
                    {"UPSTREAM": fake_url, "TOKEN": copilot_token(fake_url)}),
                   (FLOOR, lambda port: [sys.executable, str(HERE / "floor.py"), str(port)],
                    {"UPSTREAM": fake_url, "TOKEN": copilot_token(fake_url)}),
                   ("colalamo", lambda port: [sys.executable, "-m", "colalamo", "serve", "--port", str(port)],
                    fake_env(fake_url))]
        if uvloop_installed():
            proxies.append((ASYNCIO, proxies[2][1], {**fake_env(fake_url), "COLALAMO_EVENT_LOOP": "asyncio"}))
        counts = {}
        for stream in (False, True):
            for name, command, env in proxies:
                port = free_port()
                counts[(name, stream)] = instructions.per_request(
                    command(port), port, "/v1/chat/completions", {**BODIES["chat"], "stream": stream}, env=env)
        return counts
    finally:
        stop(processes)


def print_instructions(counts: dict[tuple[str, bool], float]) -> None:
    print("\ninstructions per request (callgrind, user space, one request at a time):")
    for stream in (False, True):
        base = counts[("pass-through", stream)]
        print(f"  {'stream' if stream else 'whole '}: " + ", ".join(
            f"{name} {count / 1e6:.2f} M" + ("" if name == "pass-through" else f" ({count / base:.2f}x)")
            for (name, s), count in counts.items() if s == stream))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one-second rows")
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured row (whole seconds)")
    parser.add_argument("--redis", type=int, metavar="ROUNDS", nargs="?", const=5, default=0,
                        help="only compare colalamo with and without Redis at concurrency 1, ROUNDS times (5)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per request with valgrind (about a minute more)")
    args = parser.parse_args()
    if args.instructions and not instructions.available():
        raise SystemExit("--instructions needs valgrind: `sudo apt-get install valgrind`")
    seconds = 1 if args.quick else args.seconds
    loop = "uvloop" if uvloop_installed() else "asyncio's loop (pip install -e '.[fast]' for uvloop)"
    print(f"{wrk_version()}, {seconds} s per row, {os.cpu_count()} CPUs, colalamo on {loop}, "
          f"load average {os.getloadavg()[0]:.2f} at the start\n")
    if args.redis:
        met = redis_report(redis_rows(seconds, args.redis))
        if args.instructions:
            counts = redis_instructions()
            added = counts["with Redis"] - counts["without Redis"]
            print("\ninstructions per premium call under a budget (callgrind, one request at a time): "
                  + ", ".join(f"{name} {count / 1e6:.3f} M" for name, count in counts.items())
                  + f" ({added / 1e3:+.0f} K)")
        return 0 if met else 1
    rows, peaks = fast_runs(seconds)
    slow = slow_streams(1000, piece_delay=0.5)
    met = report(rows, peaks, slow, sse_reader_ms())
    if args.instructions:
        print_instructions(instruction_counts())
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
