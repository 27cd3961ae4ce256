"""The headers the Copilot editor clients send, and the per-request ones derived from a body.

`ClientIdentity` is the client colalamo presents itself as (editor, plugin and API versions,
device id, VS Code session id); it is built once at start and gives each call its headers
with one dict copy and a few assignments.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._ids import fast_uuid4
from .._json import MAPPING
from ..config import Settings
from ..exceptions import InvalidRequest

COPILOT_INTEGRATION_ID = "vscode-chat"
# GitHub's own REST API version, for the token exchange and copilot_internal/*: not Copilot's,
# and not COLALAMO_API_VERSION.
GITHUB_API_VERSION = "2025-04-01"
# `Openai-Intent` / `X-Interaction-Type` values.
CONVERSATION_AGENT = "conversation-agent"
MESSAGES_PROXY = "messages-proxy"  # what peers send for Claude Code's calls to /v1/messages
MODEL_ACCESS = "model-access"
# For the `/models` call: its intent, over the inference headers (no initiator: not a turn).
MODEL_ACCESS_HEADERS: Mapping[str, str] = {"Openai-Intent": MODEL_ACCESS, "X-Interaction-Type": MODEL_ACCESS}
SESSION_LIFETIME = 3600.0  # seconds; VS Code starts a new session id about hourly
MAX_INTERACTION_ID = 256

AGENT_ROLES = frozenset({"assistant", "tool", "function"})
IMAGE_PARTS = frozenset({"image_url", "image", "input_image"})  # OpenAI, Anthropic, Responses


def _parts(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, MAPPING) else None
    return content if isinstance(content, list) else []


def initiator_for(messages: Any) -> str:
    """`X-Initiator`: "agent" when the latest turn is an assistant or tool turn, else "user".

    Copilot bills premium requests on user-initiated calls only, so a turn that a person
    started must say "user"; the follow-up calls of an agent loop say "agent". Anthropic's
    format sends tool results in a user message: that is an agent turn too.
    """
    if isinstance(messages, list) and messages:
        last = messages[-1]
        if isinstance(last, MAPPING) and last.get("role") in AGENT_ROLES:
            return "agent"
        if isinstance(last, MAPPING) and last.get("type", "message") != "message":
            return "agent"  # a Responses item that is no message: a tool's output, say
        parts = _parts(last)
        if parts and all(isinstance(p, MAPPING) and p.get("type") == "tool_result" for p in parts):
            return "agent"
    return "user"


def has_image(messages: Any) -> bool:
    """True when any message carries an image part."""
    if not isinstance(messages, list):
        return False
    return any(
        isinstance(part, MAPPING) and part.get("type") in IMAGE_PARTS
        for message in messages
        for part in _parts(message)
    )


class SessionId:
    """`VScode-SessionId`: like VS Code's, a uuid followed by the start time in milliseconds,
    replaced by a new one once `lifetime` seconds have passed on `clock` (monotonic)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        lifetime: float = SESSION_LIFETIME,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._lifetime = lifetime
        self._value = ""
        self._renew_at = float("-inf")

    def current(self) -> str:
        now = self._clock()
        if now >= self._renew_at:
            self._value = f"{fast_uuid4()}{int(self._wall_clock() * 1000)}"
            self._renew_at = now + self._lifetime
        return self._value


@dataclass(frozen=True)
class ClientIdentity:
    """The client colalamo presents itself as to GitHub and Copilot."""

    editor_version: str  # Editor-Version, e.g. vscode/1.118.0
    plugin_version: str  # Editor-Plugin-Version, e.g. copilot-chat/0.50.1
    api_version: str  # X-GitHub-Api-Version of Copilot calls, e.g. 2026-06-01
    device_id: str  # Editor-Device-Id: kept across restarts (see auth.device_id)
    session: SessionId = field(default_factory=SessionId, compare=False, repr=False)
    _copilot_base: Mapping[str, str] = field(init=False, compare=False, repr=False)
    _github_base: Mapping[str, str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        editor = {
            "Copilot-Integration-Id": COPILOT_INTEGRATION_ID,
            "Editor-Version": self.editor_version,
            "Editor-Plugin-Version": self.plugin_version,
            "User-Agent": self.user_agent,
        }
        copilot = {
            **editor,
            "X-GitHub-Api-Version": self.api_version,
            "Content-Type": "application/json",
            "Editor-Device-Id": self.device_id,
        }
        github = {**editor, "X-GitHub-Api-Version": GITHUB_API_VERSION, "Accept": "application/json"}
        object.__setattr__(self, "_copilot_base", copilot)
        object.__setattr__(self, "_github_base", github)

    @classmethod
    def from_settings(cls, settings: Settings, device_id: str) -> ClientIdentity:
        return cls(settings.editor_version, settings.plugin_version, settings.api_version, device_id)

    @property
    def user_agent(self) -> str:
        return f"GitHubCopilotChat/{self.plugin_version.partition('/')[2]}"

    def inference_headers(
        self,
        copilot_token: str,
        *,
        initiator: str | None = None,
        vision: bool = False,
        interaction_type: str = CONVERSATION_AGENT,
        interaction_id: str | None = None,
        intent: str | None = None,
    ) -> dict[str, str]:
        """Headers for one Copilot API call (chat, responses, messages, embeddings).

        `initiator` is "user" or "agent" (None: no X-Initiator); `interaction_type` is the
        X-Interaction-Type, and the Openai-Intent too unless `intent` names another (agent work
        such as a subagent keeps the endpoint's intent); `interaction_id` names the client's
        session, when it gave one.
        """
        headers = dict(self._copilot_base)
        request_id = fast_uuid4()
        headers["Authorization"] = f"Bearer {copilot_token}"
        headers["Openai-Intent"] = intent or interaction_type
        headers["X-Interaction-Type"] = interaction_type
        headers["X-Request-Id"] = headers["X-Agent-Task-Id"] = request_id
        headers["VScode-SessionId"] = self.session.current()
        if initiator is not None:
            headers["X-Initiator"] = initiator
        if vision:
            headers["Copilot-Vision-Request"] = "true"
        if interaction_id is not None:
            headers["X-Interaction-Id"] = checked_interaction_id(interaction_id)
        return headers

    def models_headers(self, copilot_token: str) -> dict[str, str]:
        """Headers for `GET /models`."""
        return self.inference_headers(copilot_token, interaction_type=MODEL_ACCESS)

    def github_headers(self, github_token: str) -> dict[str, str]:
        """Headers for GitHub API calls made with the GitHub OAuth token."""
        headers = dict(self._github_base)
        headers["Authorization"] = f"token {github_token}"
        return headers


def checked_interaction_id(value: str) -> str:
    """A client's session id, fit to be sent as X-Interaction-Id; else InvalidRequest (400)."""
    # It comes from a client: a header value must be short printable text, never a new line.
    if not value or len(value) > MAX_INTERACTION_ID or not value.isprintable() or not value.isascii():
        raise InvalidRequest(
            f"the session id (sent as X-Interaction-Id) must be 1 to {MAX_INTERACTION_ID} "
            "printable ASCII characters"
        )
    return value
