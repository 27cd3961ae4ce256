"""Which of Copilot's three inference endpoints serves a request, and the body it gets there.

A model lists the endpoints it takes (`supported_endpoints`; none listed: chat completions
only). A request goes to its own format's endpoint when the model takes it (nothing is
translated, nothing is lost), else to the first endpoint the model takes in the order below.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._translate import UPSTREAM_FORMATS, ClientRequest
from .._translate.chat import ENDPOINT as CHAT
from .._translate.messages import ENDPOINT as MESSAGES
from .._translate.responses import ENDPOINT as RESPONSES
from .billing import Bill
from .catalogue import ModelEntry
from .interaction import Interaction
from .model_rules import adapt_chat_request, is_reasoning

log = logging.getLogger(__name__)

Json = dict[str, Any]

# After the client's own format: Responses keeps reasoning across turns, so it comes first
# for Anthropic clients; chat keeps the most for Responses clients of chat-only models.
PREFERENCE: Mapping[str, tuple[str, ...]] = {
    CHAT: (CHAT, RESPONSES, MESSAGES),
    RESPONSES: (RESPONSES, CHAT, MESSAGES),
    MESSAGES: (MESSAGES, RESPONSES, CHAT),
}
REFUSED_ON_RESPONSES = ("service_tier",)  # Copilot answers 400 to these
REFUSED_ON_MESSAGES_TOOLS = ("eager_input_streaming",)
SAMPLING = ("temperature", "top_p")
LIMIT_FIELDS: Mapping[str, tuple[str, ...]] = {
    CHAT: ("max_tokens", "max_completion_tokens"),
    RESPONSES: ("max_output_tokens",),
    MESSAGES: ("max_tokens",),
}


def endpoint_for(client_endpoint: str, entry: ModelEntry) -> str:
    served = entry.endpoints
    for endpoint in PREFERENCE[client_endpoint]:
        if endpoint in served:
            return endpoint
    return CHAT  # a model that lists none of the three: let Copilot say what it thinks


def upstream_body(req: ClientRequest, entry: ModelEntry, endpoint: str, default_model: str) -> Json:
    """The body to send to `endpoint` for `req`, adapted to what the model accepts."""
    if endpoint == req.endpoint and endpoint != CHAT:
        body = req.native_body(entry.id)
    else:
        hub = req.to_hub(default_model)
        hub["model"] = entry.id
        body = UPSTREAM_FORMATS[endpoint].request_from_chat(hub, entry.info)
    return adapt(endpoint, body, entry)


def adapt(endpoint: str, body: Json, entry: ModelEntry) -> Json:
    """What the model refuses, removed or rewritten: the rules of each endpoint, and output
    limits above the model's own lowered to it (agents ask for 128000 whatever the model)."""
    if endpoint == CHAT:
        body = adapt_chat_request(body, entry.info)
    elif endpoint == MESSAGES and body.get("tools"):
        # Copilot refuses the whole request for this per-tool streaming hint (the AI SDK sets it)
        body["tools"] = [{k: v for k, v in t.items() if k not in REFUSED_ON_MESSAGES_TOOLS} for t in body["tools"]]
    elif endpoint == RESPONSES:
        for name in REFUSED_ON_RESPONSES:
            body.pop(name, None)
        if is_reasoning(entry.id, entry.info):
            for name in SAMPLING:
                if body.get(name) not in (None, 1):
                    log.debug("dropping %s for %s: reasoning models take only their default", name, entry.id)
                    body.pop(name)
    _lower_output_limit(body, LIMIT_FIELDS[endpoint], entry)
    return body


def _lower_output_limit(body: Json, fields: tuple[str, ...], entry: ModelEntry) -> None:
    ceiling = entry.max_output_tokens
    if ceiling is None:
        return
    for name in fields:
        value = body.get(name)
        if isinstance(value, int) and value > ceiling:
            log.debug("lowering %s from %d to %s's maximum of %d", name, value, entry.id, ceiling)
            body[name] = ceiling


@dataclass
class Route:
    """One request's way to Copilot: its model, the endpoint, the body sent there."""

    req: ClientRequest
    entry: ModelEntry
    endpoint: str
    body: Json
    initiator: str
    bill: Bill  # the hold on the budgets, settled or released when the call is done
    interaction: Interaction | None = None  # who started it, as Copilot is told (X-Interaction-*)
    shown_model: str | None = None  # the model the answer names, when another answers (warmup)

    @property
    def native(self) -> bool:
        return self.endpoint == self.req.endpoint
