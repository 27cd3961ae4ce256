"""Model names as clients write them, resolved to Copilot's ids.

Clients often name a model the way its maker does: the Anthropic SDK and the tools built on
it send `claude-sonnet-4-20250514` or `claude-3-5-sonnet-latest`, OpenAI clients a dated
`gpt-4o-2024-11-20`. Copilot knows `claude-sonnet-4`, `claude-3.5-sonnet`, `gpt-4o` (and
lists the dated name as the model's `version`). A name Copilot knows is used as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_DATE = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
_DOTTED = re.compile(r"(\d)-(\d)(?=$|-)")  # claude-3-5-sonnet -> claude-3.5-sonnet


def _candidates(name: str) -> list[str]:
    base = _DATE.sub("", name.removesuffix("-latest"))
    return [base, _DOTTED.sub(r"\1.\2", base)]


def resolve_model(name: str, models: Iterable[dict[str, Any]]) -> str:
    """Copilot's id for `name`: itself when known, else the model whose `version` it is,
    else its undated (and dotted) form when that is known. Unknown names stay as they are,
    for Copilot to refuse in its own words."""
    models = list(models)
    ids = {m["id"] for m in models}
    if name in ids:
        return name
    for model in models:
        if model.get("version") == name:
            return str(model["id"])
    for candidate in _candidates(name):
        if candidate in ids:
            return candidate
    return name
