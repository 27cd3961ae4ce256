"""How each coding agent is pointed at colalamo: environment variables, Codex's `-c` overrides,
and the snippets `colalamo env` prints. Pure functions; the key is never put in a snippet."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from .models import ClaudeCodeModels, chat_models

#: What a client sends as its key when colalamo has none (Claude Code and litellm want one).
NO_KEY = "no-key"
#: Where the launcher hands Codex the key (its provider's `env_key`), and where `env`
#: snippets expect the user to keep it.
KEY_VARIABLE = "COLALAMO_API_KEY"

#: Claude Code: no telemetry, error reports, update checks, or model calls for flavour text.
CLAUDE_QUIET = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "DISABLE_NON_ESSENTIAL_MODEL_CALLS": "1",
}
#: Variables of the user's that would send Claude Code elsewhere or send their Anthropic key.
CLAUDE_CLEARED = ("ANTHROPIC_API_KEY",)

#: aider (through its AIDER_* variables): no analytics, update check or release notes; litellm
#: uses the price list it ships instead of fetching one.
AIDER_QUIET = {
    "AIDER_ANALYTICS": "false",
    "AIDER_CHECK_UPDATE": "false",
    "AIDER_SHOW_RELEASE_NOTES": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}


def claude_env(url: str, key: str | None, models: ClaudeCodeModels) -> dict[str, str]:
    """Claude Code's variables. The key goes as ANTHROPIC_AUTH_TOKEN (a Bearer token): unlike
    ANTHROPIC_API_KEY, Claude Code does not stop to ask whether to trust it."""
    return {
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_AUTH_TOKEN": key or NO_KEY,
        "ANTHROPIC_MODEL": models.main,
        # the aliases its subagents and /model name, so that each reaches a catalogue model
        "ANTHROPIC_DEFAULT_SONNET_MODEL": models.main,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": models.opus,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": models.small,
        "ANTHROPIC_SMALL_FAST_MODEL": models.small,  # the older name of the haiku alias
        **CLAUDE_QUIET,
    }


def codex_config(url: str, model: str, *, with_key: bool) -> dict[str, Any]:
    """Codex's settings as dotted keys: a `colalamo` provider on the Responses wire, and its
    update check, analytics and feedback off."""
    config: dict[str, Any] = {
        "model": model,
        "model_provider": "colalamo",
        "model_providers.colalamo.name": "colalamo",
        "model_providers.colalamo.base_url": f"{url}/v1",
        "model_providers.colalamo.wire_api": "responses",
        "check_for_update_on_startup": False,
        "analytics.enabled": False,
        "feedback.enabled": False,
    }
    if with_key:  # a provider's env_key that is unset stops Codex: name one only when needed
        config["model_providers.colalamo.env_key"] = KEY_VARIABLE
    return config


def codex_overrides(config: Mapping[str, Any]) -> list[str]:
    """`-c key=value` arguments; Codex reads each value as TOML and they leave the user's
    ~/.codex/config.toml untouched."""
    arguments = []
    for name, value in config.items():
        arguments += ["-c", f"{name}={toml_value(value)}"]
    return arguments


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a TOML basic string


# `colalamo env` -------------------------------------------------------------------------------


def claude_snippet(url: str, with_key: bool, models: ClaudeCodeModels) -> str:
    env = claude_env(url, f"${KEY_VARIABLE}" if with_key else None, models)
    lines = [f"# Claude Code -> colalamo at {url}; then run: claude"]
    lines += _key_comment(with_key)
    lines += [f"export {name}={_shell_value(value)}" for name, value in env.items()]
    lines += [f"unset {name}" for name in CLAUDE_CLEARED]
    return "\n".join(lines)


def codex_snippet(url: str, with_key: bool, model: str) -> str:
    """A config.toml for Codex: its root keys, then its tables."""
    config = codex_config(url, model, with_key=with_key)
    root = {k: v for k, v in config.items() if "." not in k}
    tables: dict[str, dict[str, Any]] = {}
    for name, value in config.items():
        if "." in name:
            table, key = name.rsplit(".", 1)
            tables.setdefault(table, {})[key] = value
    lines = [f"# Codex -> colalamo at {url}: put this in ~/.codex/config.toml (root keys before",
             "# any table), or keep it in its own CODEX_HOME; then run: codex"]
    lines += _key_comment(with_key)
    lines += [f"{k} = {toml_value(v)}" for k, v in root.items()]
    for table, values in tables.items():
        lines += ["", f"[{table}]", *(f"{k} = {toml_value(v)}" for k, v in values.items())]
    return "\n".join(lines)


def opencode_snippet(url: str, with_key: bool, catalogue: Sequence[Mapping[str, Any]], models: ClaudeCodeModels) -> str:
    """An opencode.json with colalamo as an OpenAI-compatible provider (chat completions,
    which colalamo serves for every model) listing the catalogue's chat models."""
    options: dict[str, str] = {"baseURL": f"{url}/v1"}
    if with_key:
        options["apiKey"] = f"{{env:{KEY_VARIABLE}}}"
    listed = {_model_id(m): _opencode_model(m) for m in chat_models(catalogue)}
    for model_id in (models.main, models.small):
        listed.setdefault(model_id, {"name": model_id})
    config = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"colalamo": {
            "npm": "@ai-sdk/openai-compatible", "name": "colalamo", "options": options, "models": listed,
        }},
        "model": f"colalamo/{models.main}",
        "small_model": f"colalamo/{models.small}",
        "autoupdate": False,
        "share": "disabled",
    }
    return json.dumps(config, indent=2)


def aider_snippet(url: str, with_key: bool, models: ClaudeCodeModels) -> str:
    key = f"${KEY_VARIABLE}" if with_key else NO_KEY
    env = {
        "OPENAI_API_BASE": f"{url}/v1",
        "OPENAI_API_KEY": key,
        "AIDER_MODEL": f"openai/{models.main}",
        "AIDER_WEAK_MODEL": f"openai/{models.small}",
        **AIDER_QUIET,
    }
    lines = [f"# aider -> colalamo at {url}; then run: aider"]
    lines += _key_comment(with_key)
    lines += [f"export {name}={_shell_value(value)}" for name, value in env.items()]
    lines += [
        "# or on its command line:",
        f"#   aider --openai-api-base {url}/v1 --openai-api-key {_shell_value(key)} --model openai/{models.main}",
    ]
    return "\n".join(lines)


def _key_comment(with_key: bool) -> list[str]:
    if with_key:
        return [f"# colalamo wants an API key: have {KEY_VARIABLE} hold one of its keys"]
    return []


def _shell_value(value: str) -> str:
    """Quoted for a POSIX shell; a `$COLALAMO_API_KEY` reference is left for the shell to expand."""
    if value.startswith("$"):
        return f'"{value}"'
    return shlex.quote(value)


def _model_id(model: Mapping[str, Any]) -> str:
    return str(model.get("id"))


def _opencode_model(model: Mapping[str, Any]) -> dict[str, Any]:
    capabilities = model.get("capabilities") or {}
    limits = capabilities.get("limits") or {}
    entry: dict[str, Any] = {"name": str(model.get("name") or model.get("id")),
                             "tool_call": bool((capabilities.get("supports") or {}).get("tool_calls", True))}
    context, output = limits.get("max_context_window_tokens"), limits.get("max_output_tokens")
    if isinstance(context, int) and isinstance(output, int):
        entry["limit"] = {"context": context, "output": output}
    return entry
