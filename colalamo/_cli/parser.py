"""argparse, with errors that name the mistake: an unknown option is called that (with the
closest real one, or the environment variable when it is a setting without a flag), an unknown
command gets "did you mean", and a sub-command's mistakes show that sub-command's usage."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from typing import Any, NoReturn, cast

from ..config import SETTINGS_HELP


class CommandParser(argparse.ArgumentParser):
    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        arguments = list(args or [])
        self._refuse_unknown_leading_options(arguments)
        parsed, extras = self.parse_known_args(arguments, namespace)
        if extras:
            # the sub-command's parser left them over: its usage, not the top level's, helps
            owner = self._subcommand_parser(parsed) or self
            owner.error(unexpected(extras, owner))
        return cast(argparse.Namespace, parsed)

    def error(self, message: str) -> NoReturn:
        super().error(_with_suggestion(message))

    def _refuse_unknown_leading_options(self, arguments: list[str]) -> None:
        """Options before the command: argparse would take an unknown one's value for the
        command (`--prot 8080`: "invalid choice: '8080'")."""
        takes_value = {
            option: action.nargs != 0
            for action in self._actions
            for option in action.option_strings
        }
        skip = False
        for token in arguments:
            if skip:
                skip = False
                continue
            if token == "--" or not token.startswith("-") or token == "-":
                return  # the command (or a positional) starts here
            name = token.split("=", 1)[0]
            may_abbreviate = name.startswith("--")  # argparse accepts a prefix of a long option
            known = [option for option in takes_value if option == name or (may_abbreviate and option.startswith(name))]
            if not known:
                self.error(unknown_option(name, self))
            skip = "=" not in token and len(known) == 1 and takes_value[known[0]]

    def _subcommand_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser | None:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = getattr(parsed, action.dest or "", None)
                parser = action.choices.get(chosen) if chosen else None
                return parser if isinstance(parser, argparse.ArgumentParser) else None
        return None


def unexpected(extras: list[str], parser: argparse.ArgumentParser) -> str:
    option = next((token for token in extras if token.startswith("-") and token != "-"), None)
    if option is not None:
        return unknown_option(option.split("=", 1)[0], parser)
    return f"unexpected argument{'s' if len(extras) > 1 else ''}: {' '.join(extras)}"


def unknown_option(name: str, parser: argparse.ArgumentParser) -> str:
    """`unknown option --prot (did you mean --port?)`."""
    options = [option for action in parser._actions for option in action.option_strings]
    setting = "COLALAMO_" + name.lstrip("-").upper().replace("-", "_")
    if setting in SETTINGS_HELP and f"--{name.lstrip('-')}" not in options:
        return f"unknown option {name} (no flag for this setting: set {setting} in the environment or .env)"
    if len(name) == 2 and name[0] == "-":  # `-p`: the long options it could abbreviate
        close = [option for option in options if option.startswith(f"-{name}")]
    else:
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else "")


def _with_suggestion(message: str) -> str:
    """argparse's "invalid choice: 'serv' (choose from ...)" for a command, with the closest."""
    prefix = "argument COMMAND: invalid choice: "
    if not message.startswith(prefix):
        return message
    wrong, _, rest = message[len(prefix):].partition(" (choose from ")
    wrong = wrong.strip("'")
    choices = [choice.strip(" '") for choice in rest.rstrip(")").split(",")]
    close = difflib.get_close_matches(wrong, choices, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"one of {', '.join(choices)}"
    return f"unknown command {wrong!r} ({hint})"
