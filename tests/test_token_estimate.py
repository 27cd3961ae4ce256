"""The token estimate behind AI-credit holds, `count_tokens` and context checks: it follows
its documented rule on any text, a JSON value counts as its JSON text, and a text seen again
(agents resend the whole conversation at each turn) gives the same count."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path
from typing import Any

from colalamo._token_estimate import REMEMBERED_FROM, estimate_text_tokens, estimate_tokens

ROOT = Path(__file__).resolve().parent.parent
# Letters, digits, word marks, spaces, punctuation, and the awkward: accented and non-Latin
# letters, a combining mark, an emoji, numerals that are not decimal digits, a non-breaking space.
ALPHABET = "aZq09_\n \t.,;:!?-+*/\\\"'{}[]()éßЖ中文²Ⅻ\u0301🙂٣\x1f\u00a0"
RULE_PIECES = re.compile(r"[^\W\d_]+|\d+|\n[ \t]*|[^\s\w]+|_")


def by_the_rule(text: str) -> int:
    """The module's documented rule, piece by piece."""
    total = 0
    for piece in RULE_PIECES.findall(text):
        if piece[0].isdigit():
            total += math.ceil(len(piece) / 3)
        elif piece[0].isalpha():
            total += math.ceil(len(piece) / 4) if piece.isascii() else len(piece)
        elif piece[0] == "\n":
            total += 1
        else:
            total += math.ceil(len(piece) / 2)
    return total


def random_text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


def random_json(rng: random.Random, depth: int = 0) -> Any:
    draw = rng.random()
    if depth > 3 or draw < 0.3:
        return random_text(rng, rng.choice([5, 40, 400]))
    if draw < 0.4:
        return rng.choice([0, 7, 12345, -3, 2.5, True, None])
    if draw < 0.7:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return {random_text(rng, 8): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_the_estimate_follows_its_rule_on_any_text() -> None:
    rng = random.Random(20261126)
    texts = [random_text(rng, 60) for _ in range(1500)] + [random_text(rng, 3000) for _ in range(40)]
    texts += [path.read_text() for path in sorted(ROOT.glob("*.md"))] + [(ROOT / "colalamo" / "_core.py").read_text()]
    for text in texts:
        expected = by_the_rule(text)
        assert estimate_text_tokens(text) == expected, text[:80]
        assert estimate_text_tokens(text) == expected  # again: a long text's count is remembered


def test_a_json_value_counts_as_its_json_text_lists_too() -> None:
    rng = random.Random(7)
    values = [value for value in (random_json(rng) for _ in range(2000)) if not isinstance(value, str)]
    values += [[], [[]], ['"'], [""], ["]"], [{}, {}], [1, 2, 3], [{"role": "user", "content": "hi"}]]
    for value in values:
        assert estimate_tokens(value) == by_the_rule(json.dumps(value, ensure_ascii=False)), value
    assert estimate_tokens("a string is its own text") == by_the_rule("a string is its own text")


def test_a_conversation_one_turn_longer_counts_as_a_whole_would() -> None:
    """Agents send the conversation again with a turn more: each turn's count is remembered
    on its own, and the total still equals the estimate of the whole request's text."""
    source = (ROOT / "README.md").read_text()
    turns = [{"role": ("user", "assistant")[n % 2], "content": source[n * 2000:(n + 1) * 2000]} for n in range(12)]
    assert all(len(json.dumps(turn)) >= REMEMBERED_FROM for turn in turns)
    for length in range(1, len(turns) + 1):
        conversation = turns[:length]
        assert estimate_tokens(conversation) == by_the_rule(json.dumps(conversation, ensure_ascii=False))
