"""Users' type checkers see what each call returns: `ask()` a dict, `ask(stream=True)` an
iterator of text pieces, and so on, with no `cast` or `type: ignore` at the call site."""

from __future__ import annotations

import re

import pytest
from user_typing import MypyRun

pytest.importorskip("mypy.api", reason="mypy is in the test extra")

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


def test_calls_are_typed_by_their_stream_argument(user_typing: MypyRun) -> None:
    out, err = user_typing.output()
    lines = [line for line in out.splitlines() if line.startswith(f"{user_typing.user_file}:")]
    revealed = {int(m.group(1)): m.group(2) for line in lines
                if (m := re.search(r":(\d+): note: Revealed type is \"(.+)\"", line))}
    errors = [line for line in lines if ": error:" in line]
    assert errors == [], f"the user's code does not type-check:\n{out}{err}"
    assert revealed == EXPECTED
