"""What tests/test_typing.py type-checks: a user's code calling colalamo, checked by mypy in a
process of its own, started as early as the session (it takes seconds of one core: the
conftest starts it while the tests are collected)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

USER_CODE = '''
from colalamo import AsyncCopilot, Copilot

def sync_use() -> None:
    with Copilot() as copilot:
        reveal_type(copilot.ask([{"role": "user", "content": "hi"}], temperature=0.6))  # 5
        reveal_type(copilot.ask([], stream=True))  # 6
        reveal_type(copilot.chat(model="gpt-4.1", messages=[]))  # 7
        reveal_type(copilot.chat(messages=[], stream=True))  # 8
        reply: str = copilot.ask([])["text"]["reply"]

async def async_use() -> None:
    async with AsyncCopilot() as copilot:
        reveal_type(await copilot.ask([]))  # 13
        reveal_type(await copilot.ask([], stream=True))  # 14
        reveal_type(await copilot.chat(messages=[]))  # 15
        reveal_type(await copilot.chat(messages=[], stream=True))  # 16
        async for piece in await copilot.ask([], stream=True):
            print(piece.upper())
        for chunk in Copilot().chat(messages=[], stream=True):
            print(chunk["choices"])
'''


class MypyRun:
    """`mypy --strict` on USER_CODE, under way."""

    def __init__(self) -> None:
        self.where = Path(tempfile.mkdtemp(prefix="colalamo-user-typing-"))
        self.user_file = "user_code.py"  # as mypy names it in what it reports, run where it is
        (self.where / self.user_file).write_text(USER_CODE.lstrip("\n"))
        # the source tree, as an installed wheel would give it (mypy does not follow editable installs)
        env = {**os.environ, "MYPYPATH": str(ROOT)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(self.where / "cache"), "--no-error-summary",
             "--follow-imports=silent", self.user_file],
            cwd=self.where, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._output: tuple[str, str] | None = None

    def output(self) -> tuple[str, str]:
        """mypy's stdout and stderr, once it is done."""
        if self._output is None:
            self._output = self._process.communicate(timeout=120)
        return self._output

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()
        shutil.rmtree(self.where, ignore_errors=True)
