"""A Python load generator, run as its own process. `bench/run.py` drives throughput with wrk;
it uses this one only for the 1,000 slow streams, which measure colalamo's memory, not speed.
Prints one JSON line: requests/s, latency p50/p99, time to first token, errors.

    python bench/load.py URL --stream --concurrency 32 --seconds 3 [--header 'K: V' ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import aiohttp

BODY = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "tell me something about proxies please"}]}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def one(http: aiohttp.ClientSession, url: str, stream: bool) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    async with http.post(url, json={**BODY, "stream": stream}) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
        if stream:
            async for line in response.content:
                if first is None and b'"content":"' in line.replace(b" ", b""):
                    first = time.perf_counter()
        else:
            await response.read()
    done = time.perf_counter()
    return done - started, (first or done) - started


async def run(url: str, stream: bool, concurrency: int, seconds: float, headers: dict[str, str],
              total: int | None) -> dict:
    latencies: list[float] = []
    firsts: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as http:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        remaining = [total] if total else None

        async def worker() -> None:
            nonlocal errors
            while (remaining[0] > 0) if remaining else (time.perf_counter() < deadline):
                if remaining:
                    remaining[0] -= 1
                try:
                    latency, first = await one(http, url, stream)
                except Exception:
                    errors += 1
                    continue
                latencies.append(latency)
                firsts.append(first)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "ttft_p50_ms": 1000 * statistics.median(firsts) if firsts else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--total", type=int, help="a fixed number of requests instead of a duration")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    print(json.dumps(asyncio.run(run(args.url, args.stream, args.concurrency, args.seconds, headers, args.total))))


if __name__ == "__main__":
    main()
