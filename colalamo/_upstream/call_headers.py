"""What an inference call tells Copilot about itself in its headers."""

from __future__ import annotations

from typing import Any

from .._translate import ClientRequest
from .._translate.messages import ENDPOINT as MESSAGES
from .context import current_call
from .headers import CONVERSATION_AGENT, MESSAGES_PROXY, ClientIdentity, has_image
from .routing import Route
from .transport import Headers

ANTHROPIC_VERSION = "2023-06-01"
# The betas Copilot's /v1/messages accepts; others make it answer 400.
ANTHROPIC_BETAS = frozenset({"interleaved-thinking-2025-05-14", "context-management-2025-06-27",
                             "advanced-tool-use-2025-11-20"})


def call_headers(route: Route, identity: ClientIdentity) -> Headers:
    """The headers of one inference call, made anew for each Copilot token: the client
    identity, who started the call (`X-Initiator`, `X-Interaction-*`), vision, and
    Anthropic's version and the betas Copilot accepts on `/v1/messages`."""
    extra: dict[str, str] = {}
    interaction = CONVERSATION_AGENT
    if route.endpoint == MESSAGES:
        extra["anthropic-version"] = ANTHROPIC_VERSION
        beta = _accepted_betas(getattr(route.req, "beta", None))
        if beta:
            extra["anthropic-beta"] = beta
        if route.native:
            interaction = MESSAGES_PROXY
    vision = has_image(_turns(route.req))
    kind, session = (route.interaction.kind, route.interaction.session) if route.interaction else (None, None)
    current_call().interaction = kind or interaction

    def headers(token: str) -> dict[str, str]:
        sent = identity.inference_headers(token, initiator=route.initiator, vision=vision,
                                          interaction_type=kind or interaction, intent=interaction,
                                          interaction_id=session)
        sent.update(extra)
        return sent

    return headers


def _turns(req: ClientRequest) -> Any:
    """The conversation whose last turn says who started the call."""
    body = req.body
    return body.get("messages") if "messages" in body else body.get("input")


def _accepted_betas(header: str | None) -> str:
    if not header:
        return ""
    return ",".join(b.strip() for b in header.split(",") if b.strip() in ANTHROPIC_BETAS)
