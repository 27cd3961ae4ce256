"""The headers the Copilot editor clients send, and the per-request ones derived from a body."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

# The Copilot API answers 400 "missing Editor-Version header for IDE auth" without these.
EDITOR_HEADERS: Mapping[str, str] = {
    "Copilot-Integration-Id": "vscode-chat",
    "Editor-Version": "vscode/1.104.3",
    "Editor-Plugin-Version": "copilot-chat/0.26.7",
    "User-Agent": "GitHubCopilotChat/0.26.7",
    "X-GitHub-Api-Version": "2025-04-01",
}

AGENT_ROLES = frozenset({"assistant", "tool", "function"})
IMAGE_PARTS = frozenset({"image_url", "image", "input_image"})  # OpenAI, Anthropic, Responses


def _parts(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, Mapping) else None
    return content if isinstance(content, list) else []


def initiator_for(messages: Any) -> str:
    """`X-Initiator`: "agent" when the latest turn is an assistant or tool turn, else "user".

    Copilot bills premium requests on user-initiated calls only, so a turn that a person
    started must say "user"; the follow-up calls of an agent loop say "agent". Anthropic's
    format sends tool results in a user message: that is an agent turn too.
    """
    if isinstance(messages, list) and messages:
        last = messages[-1]
        if isinstance(last, Mapping) and last.get("role") in AGENT_ROLES:
            return "agent"
        if isinstance(last, Mapping) and last.get("type", "message") != "message":
            return "agent"  # a Responses item that is no message: a tool's output, say
        parts = _parts(last)
        if parts and all(isinstance(p, Mapping) and p.get("type") == "tool_result" for p in parts):
            return "agent"
    return "user"


def has_image(messages: Any) -> bool:
    """True when any message carries an image part."""
    if not isinstance(messages, list):
        return False
    return any(
        isinstance(part, Mapping) and part.get("type") in IMAGE_PARTS
        for message in messages
        for part in _parts(message)
    )


_random = random.Random()  # ids need to be unique, not secret: no syscall per request


def fast_uuid4() -> str:
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))


def api_headers(copilot_token: str, body: Mapping[str, Any] | None = None, *, initiator: str | None = None) -> dict[str, str]:
    """Headers for one Copilot API call."""
    headers = dict(EDITOR_HEADERS)
    headers["Authorization"] = f"Bearer {copilot_token}"
    headers["Openai-Intent"] = "conversation-panel"
    headers["Content-Type"] = "application/json"
    headers["X-Request-Id"] = fast_uuid4()
    turns = (body.get("messages") if "messages" in body else body.get("input")) if body else None
    if turns is not None:
        headers["X-Initiator"] = initiator or initiator_for(turns)
        if has_image(turns):
            headers["Copilot-Vision-Request"] = "true"
    return headers


def models_headers(copilot_token: str) -> dict[str, str]:
    return api_headers(copilot_token)


def github_headers(github_token: str) -> dict[str, str]:
    """Headers for GitHub API calls made with the GitHub OAuth token."""
    headers = dict(EDITOR_HEADERS)
    headers["Authorization"] = f"token {github_token}"
    headers["Accept"] = "application/json"
    return headers
