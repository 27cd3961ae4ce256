"""`colalamo ask`: one question, the answer streamed to the terminal."""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import stat
import sys

from ..config import Settings

HELP = "ask a question and stream the answer"
EPILOG = """\
examples:
  colalamo ask "why is the sky blue?"
  colalamo ask --model gpt-4o "write a haiku about proxies"
  git diff | colalamo ask "review this diff"     (the prompt, then the piped text)
  slow_build 2>&1 | colalamo ask --stdin "why did this fail?"   (waits for the whole log)
  echo "summarise: $(cat notes.txt)" | colalamo ask
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", nargs="*", help="the question; read from stdin when omitted")
    parser.add_argument("-m", "--model", default=argparse.SUPPRESS, help="the model to ask")
    parser.add_argument("-s", "--system", help="a system prompt")
    parser.add_argument("--temperature", type=float, help="sampling temperature (0 to 2)")
    parser.add_argument("--stdin", action="store_true",
                        help="with a prompt, wait for all of the piped text however long it takes (by default a "
                             f"pipe silent for {SILENT_PIPE_SECONDS:g} s is taken as no input)")


#: With a prompt given, a pipe on stdin that sends nothing for this long is taken as no input:
#: an inherited stdin that never closes (cron, CI) must not hang the command.
SILENT_PIPE_SECONDS = 2.0
SILENT_PIPE_NOTE = (f"colalamo ask: nothing came on stdin for {SILENT_PIPE_SECONDS:g} s, so the prompt goes alone "
                    "(--stdin waits for a slow command's output)")


def _prompt(args: argparse.Namespace) -> str:
    """The prompt, then the piped text after it (`git diff | colalamo ask "review this"`)."""
    prompt = " ".join(args.prompt)
    piped = _piped_text(waiting=args.stdin or not prompt)
    prompt = "\n\n".join(part for part in (prompt, piped) if part.strip())
    if not prompt.strip():
        raise SystemExit("colalamo ask: give a prompt, or pipe one in on stdin")
    return prompt


def _piped_text(*, waiting: bool) -> str:
    """What stdin holds; '' when it is closed, a terminal with a prompt already given, or (a
    prompt given, not `waiting`) a pipe that stays silent."""
    stdin = sys.stdin
    try:
        mode = os.fstat(stdin.fileno()).st_mode if stdin is not None else None
    except (OSError, ValueError):  # `colalamo ask <&-`: no stdin at all
        mode = None
    if mode is None:
        return ""
    if stdin.isatty():
        if not waiting:
            return ""
        print("type the question, then Ctrl-D:", file=sys.stderr)
        return stdin.read()
    if not waiting and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        try:
            ready, _, _ = select.select([stdin], [], [], SILENT_PIPE_SECONDS)
        except OSError:  # Windows selects on sockets only
            return ""
        if not ready:
            print(SILENT_PIPE_NOTE, file=sys.stderr)
            return ""
    # bytes that are not UTF-8 (a binary diff) must not end the command with a traceback
    return stdin.buffer.read().decode("utf-8", errors="replace")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from .._library import AsyncCopilot  # imported when run: `colalamo --help` stays quick

    prompt = await asyncio.to_thread(_prompt, args)
    messages = [{"role": "user", "content": prompt}]
    if args.system:
        messages.insert(0, {"role": "system", "content": args.system})
    params = {} if args.temperature is None else {"temperature": args.temperature}
    async with AsyncCopilot(settings) as copilot:
        pieces = await copilot.ask(messages, stream=True, **params)
        async for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
