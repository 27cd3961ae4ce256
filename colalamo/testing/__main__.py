"""`python -m colalamo.testing`: serve the fake GitHub + Copilot on its own, to point a
colalamo (or anything that speaks Copilot's protocol) at it, offline.

    python -m colalamo.testing --port 9999
    eval "$(python -m colalamo.testing --print-env --port 9999)"   # in another shell
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from .fake import GITHUB_TOKEN, FakeCopilot


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m colalamo.testing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--piece-delay", type=float, default=0.0, help="seconds between streamed pieces")
    parser.add_argument("--token-ttl", type=float, default=1800.0, help="lifetime of Copilot tokens, seconds")
    parser.add_argument("--min-api-version", default=None, metavar="DATE",
                        help="answer 466 to Copilot API calls with an older X-GitHub-Api-Version (e.g. 2025-10-01)")
    parser.add_argument("--print-env", action="store_true", help="print only the COLALAMO_* settings, as shell")
    args = parser.parse_args()
    asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeCopilot(token_ttl=args.token_ttl, refresh_in=args.token_ttl * 5 / 6, record=False,
                       min_api_version=args.min_api_version)
    fake.piece_delay = args.piece_delay
    await fake.start(args.host, args.port)
    if args.print_env:
        print("\n".join(f"export {k}={v}" for k, v in fake.env().items()), flush=True)
    else:
        print(f"fake GitHub + Copilot at {fake.url} (GitHub token {GITHUB_TOKEN})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.stop()


if __name__ == "__main__":
    main()
