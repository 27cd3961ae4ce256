"""Users' type checkers see what each call returns: `ask()` a dict, `ask(stream=True)` an
iterator of text pieces, and so on, with no `cast` or `type: ignore` at the call site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is in the test extra")

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

EXPECTED = {
    5: "dict[str, Any]",
    6: "typing.Iterator[str]",
    7: "dict[str, Any]",
    8: "typing.Iterator[dict[str, Any]]",
    13: "dict[str, Any]",
    14: "typing.AsyncIterator[str]",
    15: "dict[str, Any]",
    16: "typing.AsyncIterator[dict[str, Any]]",
}


def test_calls_are_typed_by_their_stream_argument(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_file = tmp_path / "user_code.py"
    user_file.write_text(USER_CODE.lstrip("\n"))
    # the source tree, as an installed wheel would give it (mypy does not follow editable installs)
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    out, err, _ = mypy_api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary",
                                "--follow-imports=silent", str(user_file)])
    lines = [line for line in out.splitlines() if line.startswith(str(user_file))]
    revealed = {int(m.group(1)): m.group(2) for line in lines
                if (m := re.search(r":(\d+): note: Revealed type is \"(.+)\"", line))}
    errors = [line for line in lines if ": error:" in line]
    assert errors == [], f"the user's code does not type-check:\n{out}{err}"
    assert revealed == EXPECTED
