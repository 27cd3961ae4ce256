"""`colalamo ask`: one question, the answer streamed to the terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..config import Settings
from ..library import AsyncCopilot

HELP = "ask a question and stream the answer"
EPILOG = """\
examples:
  colalamo ask "why is the sky blue?"
  colalamo ask --model gpt-4o "write a haiku about proxies"
  git diff | colalamo ask --system "review this diff"
  echo "summarise: $(cat notes.txt)" | colalamo ask
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", nargs="*", help="the question; read from stdin when omitted")
    parser.add_argument("-m", "--model", default=argparse.SUPPRESS, help="the model to ask")
    parser.add_argument("-s", "--system", help="a system prompt")
    parser.add_argument("--temperature", type=float, help="sampling temperature (0 to 2)")


def _prompt(args: argparse.Namespace) -> str:
    # stdin is read only when no prompt is given: a prompt plus an inherited stdin that
    # never closes (cron, CI) must not hang.
    prompt = " ".join(args.prompt)
    if not prompt:
        if sys.stdin.isatty():
            print("type the question, then Ctrl-D:", file=sys.stderr)
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise SystemExit("colalamo ask: give a prompt, or pipe one in on stdin")
    return prompt


async def run(args: argparse.Namespace, settings: Settings) -> int:
    prompt = await asyncio.to_thread(_prompt, args)
    messages = [{"role": "user", "content": prompt}]
    if args.system:
        messages.insert(0, {"role": "system", "content": args.system})
    params = {} if args.temperature is None else {"temperature": args.temperature}
    async with AsyncCopilot(settings) as copilot:
        pieces = await copilot.ask(messages, stream=True, **params)
        async for piece in pieces:  # type: ignore[union-attr]
            sys.stdout.write(piece)
            sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
