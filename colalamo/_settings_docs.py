"""The settings' documentation, made from their one declaration (`config.Settings`): the
README's table and `.env.example`. `python -m colalamo._settings_docs` rewrites both;
tests/test_config.py fails when either differs from what this makes."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path
from typing import Any

from .config import ALIASES, Settings, _env_name, default_text, shown_default

ROOT = Path(__file__).resolve().parent.parent
TABLE_START = "<!-- settings table: made by `python -m colalamo._settings_docs` -->"
TABLE_END = "<!-- end of the settings table -->"
ENV_HEADER = """\
# colalamo settings. Copy to .env (in the directory you run colalamo from) and uncomment
# what you change. Precedence: command-line flag > environment > .env > the default shown.
# Made from colalamo/config.py by `python -m colalamo._settings_docs`: edit there, not here.
"""
WIDTH = 95


def _example(f: dataclasses.Field[Any]) -> str:
    if f.metadata.get("example") is not None:
        return str(f.metadata["example"])
    return default_text(f)


def readme_table() -> str:
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(Settings):
        name = f"`{_env_name(f.name)}`"
        if f.name in ALIASES:
            name += f" (or `{ALIASES[f.name]}`)"
        meaning = f.metadata["help"]
        if f.metadata.get("flag") and f.metadata["flag"] not in meaning:
            meaning += f" (`{f.metadata['flag']}`)"
        rows.append(f"| {name} | {shown_default(f)} | {meaning} |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def env_example() -> str:
    lines = [ENV_HEADER.rstrip("\n")]
    section = None
    for f in dataclasses.fields(Settings):
        if f.metadata["section"] != section:
            section = f.metadata["section"]
            lines.append("")
            if section != "basics":
                lines.append(f"# --- {section} ".ljust(WIDTH, "-"))
        doc = f.metadata["doc"].replace("`", "")
        lines += textwrap.wrap(doc, WIDTH - 2, initial_indent="# ", subsequent_indent="# ",
                               break_on_hyphens=False)
        lines.append(f"# {_env_name(f.name)}={_example(f)}")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str) -> str:
    """The README with its settings table made anew."""
    start, end = readme.index(TABLE_START), readme.index(TABLE_END) + len(TABLE_END)
    return readme[:start] + readme_table() + readme[end:]


def main() -> int:
    readme = ROOT / "README.md"
    readme.write_text(readme_with_table(readme.read_text()))
    (ROOT / ".env.example").write_text(env_example())
    print("wrote README.md's settings table and .env.example", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
