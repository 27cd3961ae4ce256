"""colalamo's benchmark: what colalamo adds over a bare pass-through, on this machine.

Starts the fake Copilot (`python -m colalamo.testing`), the 20-line pass-through
(`bench/passthrough.py`) and colalamo, each as its own process, and drives each from a separate
load process (`bench/load.py`): whole answers and streams, at concurrency 1 and 32. Then 1,000
slow streams at once through colalamo. Prints one table, the ratios and the targets.

    python bench/run.py            # about two minutes
    python bench/run.py --quick    # shorter runs, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
GITHUB_TOKEN = "gho_colalamoFakeGitHubToken0001"
COPILOT_HEADERS = {"Editor-Version": "vscode/1.104.3", "Copilot-Integration-Id": "vscode-chat"}


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


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def load(url: str, *, stream: bool, concurrency: int, seconds: float, headers: dict[str, str], total: int | None = None) -> dict:
    command = [sys.executable, str(HERE / "load.py"), url, "--concurrency", str(concurrency), "--seconds", str(seconds)]
    command += ["--stream"] if stream else []
    command += ["--total", str(total)] if total else []
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def copilot_token(fake_url: str) -> str:
    request = urllib.request.Request(f"{fake_url}/copilot_internal/v2/token",
                                     headers={"Authorization": f"token {GITHUB_TOKEN}", **COPILOT_HEADERS})
    return json.loads(urllib.request.urlopen(request).read())["token"]


def fake_env(fake_url: str) -> dict[str, str]:
    return {"COLALAMO_GITHUB_URL": fake_url, "COLALAMO_GITHUB_API_URL": fake_url, "COLALAMO_GITHUB_TOKEN": GITHUB_TOKEN,
            "COLALAMO_LOG_LEVEL": "warning", "COLALAMO_TOKEN_FILE": "/tmp/colalamo-bench-token"}


def colalamo_command(port: int) -> list[str]:
    return [shutil.which("colalamo") or "colalamo", "serve", "--port", str(port)]


def fast_runs(seconds: float) -> tuple[list[dict], dict[str, int]]:
    processes: list[subprocess.Popen] = []
    try:
        fake_port, pass_port, col_port = free_port(), free_port(), free_port()
        processes.append(start([sys.executable, "-m", "colalamo.testing", "--port", str(fake_port)], fake_port))
        fake_url = f"http://127.0.0.1:{fake_port}"
        token = copilot_token(fake_url)
        processes.append(start([sys.executable, str(HERE / "passthrough.py"), str(pass_port)], pass_port,
                               {"UPSTREAM": fake_url, "TOKEN": token}))
        processes.append(start(colalamo_command(col_port), col_port, fake_env(fake_url)))
        targets = {
            "direct": (f"{fake_url}/chat/completions", {"Authorization": f"Bearer {token}", **COPILOT_HEADERS}, processes[0]),
            "pass-through": (f"http://127.0.0.1:{pass_port}/v1/chat/completions", {}, processes[1]),
            "colalamo": (f"http://127.0.0.1:{col_port}/v1/chat/completions", {}, processes[2]),
        }
        rows = []
        for stream in (False, True):
            for concurrency in (1, 32):
                for name, (url, headers, _) in targets.items():
                    load(url, stream=stream, concurrency=concurrency, seconds=0.5, headers=headers)  # warm up
                    result = load(url, stream=stream, concurrency=concurrency, seconds=seconds, headers=headers)
                    rows.append({"target": name, "stream": stream, "concurrency": concurrency, **result})
        peaks = {name: rss_kb(process.pid, "VmHWM") for name, (_, _, process) in targets.items()}
        return rows, peaks
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def slow_streams(count: int, piece_delay: float) -> dict:
    processes: list[subprocess.Popen] = []
    try:
        fake_port, col_port = free_port(), free_port()
        processes.append(start([sys.executable, "-m", "colalamo.testing", "--port", str(fake_port),
                                "--piece-delay", str(piece_delay)], fake_port))
        colalamo = start(colalamo_command(col_port), col_port, fake_env(f"http://127.0.0.1:{fake_port}"))
        processes.append(colalamo)
        url = f"http://127.0.0.1:{col_port}/v1/chat/completions"
        load(url, stream=True, concurrency=4, seconds=0.5, headers={})  # warm up
        idle = rss_kb(colalamo.pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(colalamo.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        result = load(url, stream=True, concurrency=count, seconds=0, headers={}, total=count)
        done.set()
        sampler.join()
        return {**result, "idle_rss_kb": idle, "peak_rss_kb": peak[0], "kb_per_stream": (peak[0] - idle) / count}
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def report(rows: list[dict], peaks: dict[str, int], slow: dict) -> bool:
    print(f"{'target':13} {'mode':6} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ttft ms':>8} {'errors':>6}")
    for row in rows:
        print(f"{row['target']:13} {'stream' if row['stream'] else 'whole':6} {row['concurrency']:>4} {row['rps']:8.0f} "
              f"{row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['ttft_p50_ms']:8.2f} {row['errors']:>6}")
    print("\npeak RSS: " + ", ".join(f"{name} {kb / 1024:.0f} MiB" for name, kb in peaks.items()))

    def find(target: str, stream: bool, concurrency: int) -> dict:
        return next(r for r in rows if r["target"] == target and r["stream"] == stream and r["concurrency"] == concurrency)

    added = find("colalamo", False, 1)["p50_ms"] - find("direct", False, 1)["p50_ms"]
    ratios = {stream: find("colalamo", stream, 32)["rps"] / find("pass-through", stream, 32)["rps"] for stream in (False, True)}
    print(f"\ncolalamo / pass-through, throughput at concurrency 32: whole {ratios[False]:.2f}, stream {ratios[True]:.2f}")
    print(f"added latency over direct, p50 at concurrency 1: {added:.2f} ms "
          f"(pass-through adds {find('pass-through', False, 1)['p50_ms'] - find('direct', False, 1)['p50_ms']:.2f} ms)")
    print(f"{slow['requests']} slow streams at once: {slow['errors']} errors, "
          f"{slow['kb_per_stream']:.0f} KB of RSS per stream (idle {slow['idle_rss_kb'] / 1024:.0f} MiB, "
          f"peak {slow['peak_rss_kb'] / 1024:.0f} MiB)")
    targets = {
        "added p50 latency <= 1 ms": added <= 1.0,
        "throughput >= 80% of pass-through (whole)": ratios[False] >= 0.8,
        "throughput >= 80% of pass-through (stream)": ratios[True] >= 0.8,
        "1,000 slow streams, no errors": slow["errors"] == 0 and slow["requests"] == 1000,
        "under 100 KB of RSS per slow stream": slow["kb_per_stream"] < 100,
    }
    print()
    for name, met in targets.items():
        print(f"{'met ' if met else 'MISSED'}  {name}")
    return all(targets.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one-second runs")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured run")
    args = parser.parse_args()
    rows, peaks = fast_runs(1.0 if args.quick else args.seconds)
    slow = slow_streams(1000, piece_delay=0.5)
    return 0 if report(rows, peaks, slow) else 1


if __name__ == "__main__":
    sys.exit(main())
