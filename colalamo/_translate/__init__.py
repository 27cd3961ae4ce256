"""Translation between the wire formats colalamo speaks: OpenAI chat completions, OpenAI
Responses and Anthropic Messages, requests, whole answers and streams, in any direction.

Every translation goes through one hub, chat completions (`hub.py`), so each format is one
module with its two directions, and a fourth format would be one more module:

    client request --to_hub--> hub request --request_from_chat--> Copilot request
    client answer  <-from_hub-- hub answer <--answer_to_chat----- Copilot answer
    client events  <-encoder--- hub chunks <--decoder------------ Copilot events

`CLIENT_FORMATS` wrap a client's request (its side); `UPSTREAM_FORMATS` describe Copilot's
three endpoints (the other side). Where a model takes the client's own format, nothing is
translated at all (see `upstream.routing`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import chat, messages, responses
from .chat import ChatRequest
from .hub import Json
from .messages import MessagesRequest
from .responses import ResponsesRequest


class Decoder(Protocol):
    """Copilot's stream events of one endpoint -> Copilot-style chat chunks."""

    complete: bool

    def feed(self, event: Json) -> list[Json]: ...


class Encoder(Protocol):
    """Hub chunks -> a client's stream events."""

    @property
    def usage(self) -> Any: ...

    def start(self) -> list[Json]: ...
    def feed(self, chunk: Json) -> list[Json]: ...
    def finish(self) -> list[Json]: ...
    def failed(self, message: str) -> Json | None: ...


class ClientRequest(Protocol):
    """A client's request in its own format, and how answers reach it in that format."""

    endpoint: str  # Copilot's endpoint for this format: where the request goes natively
    body: Json
    model: str | None

    ignored_tools: list[str]  # tools left out: the model's endpoint cannot take them

    def to_hub(self, default_model: str) -> Json: ...
    def from_hub(self, completion: Json) -> Json: ...
    def encoder(self) -> Encoder: ...
    # Where Copilot takes the client's own format (never chat: that goes through the hub,
    # which applies the chat models' rules): the body sent, and its answers as clients get them.
    def native_body(self, model: str) -> Json: ...
    def native_answer(self, answer: Any) -> Any: ...
    def native_event(self, event: Json) -> Json: ...


@dataclass(frozen=True)
class UpstreamFormat:
    """One of Copilot's inference endpoints, as the far side of a translation."""

    endpoint: str
    request_from_chat: Callable[[Json, Mapping[str, Any] | None], Json]
    answer_to_chat: Callable[[Any], Json]
    decoder: Callable[[str], Decoder] | None  # None: the chat stream, decoded by the normaliser


UPSTREAM_FORMATS: dict[str, UpstreamFormat] = {
    chat.ENDPOINT: UpstreamFormat(chat.ENDPOINT, chat.request_from_chat, chat.answer_to_chat, None),
    responses.ENDPOINT: UpstreamFormat(responses.ENDPOINT, responses.request_from_chat, responses.answer_to_chat,
                                       responses.ResponsesToChat),
    messages.ENDPOINT: UpstreamFormat(messages.ENDPOINT, messages.request_from_chat, messages.answer_to_chat,
                                      messages.MessagesToChat),
}

__all__ = [
    "UPSTREAM_FORMATS",
    "ChatRequest",
    "ClientRequest",
    "Decoder",
    "Encoder",
    "MessagesRequest",
    "ResponsesRequest",
    "UpstreamFormat",
]
