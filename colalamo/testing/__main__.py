"""`python -m colalamo.testing`: serve the fake GitHub + Copilot on its own, to point a
colalamo (or anything that speaks Copilot's protocol) at it, offline.

    python -m colalamo.testing --port 9999                       # serve here, until Ctrl-C
    eval "$(python -m colalamo.testing --print-env --port 9999)" # in another shell: point colalamo at it

    eval "$(python -m colalamo.testing --background)"            # one shell: serve in the background
    kill $COLALAMO_FAKE_PID                                      # ... and stop it
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import shlex
import subprocess
import sys

from .._signals import stop_on_signals
from .fake import GITHUB_TOKEN, FakeCopilot

PROG = "python -m colalamo.testing"
#: Set in the background fake's environment: print the URL once listening, then go quiet.
DETACHED = "_COLALAMO_FAKE_DETACHED"


def main() -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=0, help="0 picks a free port")
    parser.add_argument("--piece-delay", type=float, default=0.0, help="seconds between streamed pieces")
    parser.add_argument("--token-ttl", type=float, default=1800.0, help="lifetime of Copilot tokens, seconds")
    parser.add_argument("--min-api-version", default=None, metavar="DATE",
                        help="answer 466 to Copilot API calls with an older X-GitHub-Api-Version (e.g. 2025-10-01)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--print-env", action="store_true",
                      help="print the COLALAMO_* settings for a fake serving on --port, as shell, and exit")
    mode.add_argument("--background", action="store_true",
                      help="serve in a background process; print its settings (and COLALAMO_FAKE_PID) and exit")
    args = parser.parse_args()
    try:
        if args.print_env:
            if not args.port:
                raise SystemExit(f"{PROG}: --print-env needs the --port the fake serves on (or use --background)")
            print(exports(_url(args.host, args.port)))
        elif args.background:
            print(_start_in_background())
        else:
            asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


def exports(url: str, pid: int | None = None) -> str:
    """Shell `export` lines that point colalamo at the fake at `url`."""
    fake = FakeCopilot(record=False)
    fake.url = url
    variables = {**fake.env(), **({"COLALAMO_FAKE_PID": str(pid)} if pid else {})}
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in variables.items())


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, not {port}")
    return port


def _url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _start_in_background() -> str:
    """Start this command again, detached (its own session, no terminal, output to nowhere once
    listening), and wait until it listens: `eval "$(...)"` ends as soon as this returns."""
    argv = [arg for arg in sys.argv[1:] if arg != "--background"]
    child = subprocess.Popen(
        [sys.executable, "-m", "colalamo.testing", *argv], env={**os.environ, DETACHED: "1"},
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stderr is not None
    url = child.stdout.readline().strip()  # the child closes its end once listening, or exits
    if not url:
        error = child.stderr.read().strip().splitlines()
        child.wait()
        raise SystemExit(error[-1] if error else f"{PROG}: the background fake did not start")
    return exports(url, child.pid)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeCopilot(token_ttl=args.token_ttl, refresh_in=args.token_ttl * 5 / 6, record=False,
                       min_api_version=args.min_api_version)
    fake.piece_delay = args.piece_delay
    try:
        await fake.start(args.host, args.port)
    except OSError as exc:
        await fake.stop()
        raise SystemExit(f"{PROG}: cannot serve on {args.host}:{args.port}: {_reason(exc)}") from None
    if os.environ.get(DETACHED):
        print(fake.url, flush=True)
        _go_quiet()
    else:
        print(f"fake GitHub + Copilot at {fake.url} (GitHub token {GITHUB_TOKEN})", flush=True)
    await stop_on_signals().wait()
    await fake.stop()


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "the port is in use; choose another with --port"
    return exc.strerror or str(exc)


def _go_quiet() -> None:
    """Point stdout and stderr at nowhere: the parent's pipe closes, and writes cannot fail later."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    main()
