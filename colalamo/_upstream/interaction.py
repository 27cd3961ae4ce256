"""Who started a call and what kind of work it is, as Copilot is told (protocol notes, section 8):
`X-Initiator`, `X-Interaction-Type` and `X-Interaction-Id`, read from a client's request in any
of the three formats (chat `messages`, Anthropic `system` + `messages`, Responses
`instructions` + `input`).

Premium-request plans bill the calls a person started (`user`), not the agent's own work
(`agent`). Besides tool follow-ups (`headers.initiator_for`), agent work that starts with a
user message is recognised here:

- Claude Code's **subagents**: a hook's `__SUBAGENT_MARKER__{...}` in a `<system-reminder>` of
  the first user message; else, without the hook, by the client's session (see `Sessions`).
- **Compaction**: Claude Code summarising its own conversation, and the call that carries on
  from that summary.
- The start-up **warmup** call (Anthropic format, the word "Warmup", no tools) is answered by a
  small model the catalogue does not bill (`small_model`), under the name the client asked for.

The client's session id (Anthropic `metadata.user_id`, else an `x-session-id` header) is sent as
`X-Interaction-Id`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .._json import MAPPING
from .._translate import ClientRequest
from .._translate.messages import ENDPOINT as MESSAGES
from ..exceptions import InvalidRequest, UpstreamError
from .catalogue import Catalogue
from .headers import AGENT_ROLES, checked_interaction_id, initiator_for

Json = dict[str, Any]

SUBAGENT = "conversation-subagent"
COMPACTION = "conversation-compaction"
SESSION_HEADER = "x-session-id"

SUBAGENT_MARKER = "__SUBAGENT_MARKER__"
COMPACTION_SYSTEM = "You are a helpful AI assistant tasked with summarizing conversations"
COMPACTION_PROMPT = "Your task is to create a detailed summary of the conversation so far"
CONTINUATION = "This session is being continued from a previous conversation"
WARMUP = "Warmup"
# Claude Code's first system block; its `cc_version=...` may change from call to call.
BILLING_HEADER = "x-anthropic-billing-header:"
#: Small models that Copilot's catalogues do not bill, best first; any other unbilled chat
#: model will do when none of these is listed.
SMALL_MODELS = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1", "gpt-4o")
MAX_SESSIONS = 10_000

REMINDER_OPEN = "<system-reminder>"
REMINDER = re.compile(r"<system-reminder>(.*?)</system-reminder>", re.DOTALL)
LEGACY_SESSION = re.compile(r"_session_([^_]+)$")  # user_<hash>_account_<uuid>_session_<uuid>
TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


class Interaction:
    """Who started a call, as Copilot is told. A class with slots: cheaper to make than a
    NamedTuple (whose __new__ is a Python function), and one is made per request."""

    __slots__ = ("initiator", "kind", "session", "warmup")

    def __init__(self, initiator: str, kind: str | None, session: str | None, warmup: bool = False) -> None:
        self.initiator = initiator  # X-Initiator: "user" or "agent"
        self.kind = kind  # X-Interaction-Type for agent work (subagent, compaction); None: the endpoint's
        self.session = session  # X-Interaction-Id: the client's session, when it named one
        self.warmup = warmup  # Claude Code's start-up call: a small model may answer it


class _Conversation:
    """What `classify` reads of a conversation, taken in one pass over it: its system texts,
    whether only a person has spoken so far, and the texts of the person's first turn and of
    the last turn when it is the person's.

    Kept as these few facts rather than an object per turn: every request is read this way,
    and each object made is a noticeable part of it."""

    __slots__ = ("system", "fresh", "first_texts", "last_texts", "_last_text")

    def __init__(self, system: tuple[str, ...], fresh: bool, first_texts: tuple[str, ...],
                 last_texts: tuple[str, ...] | None) -> None:
        self.system = system
        self.fresh = fresh  # only a person's messages so far: the start of a conversation
        self.first_texts = first_texts  # of the first turn a person wrote (empty: none)
        self.last_texts = last_texts  # of the last turn, when a person wrote it (else None)
        self._last_text: str | None = None

    @property
    def last_text(self) -> str:
        """The last text the person wrote, without the `<system-reminder>` blocks agents add."""
        if self._last_text is None:
            self._last_text = _last_visible(self.last_texts or ())
        return self._last_text


def _last_visible(texts: tuple[str, ...]) -> str:
    for text in reversed(texts):
        # the regex only where there is a reminder to remove: a substring test is C's memchr
        visible = (REMINDER.sub("", text) if REMINDER_OPEN in text else text).strip()
        if visible:
            return visible
    return ""


class Sessions:
    """Subagents told apart by the session id a client sends, for clients without the marker.

    A Claude Code subagent starts a new conversation (only a user message, with tools) in its
    parent's session (`metadata.user_id` names the same session id), under a system prompt of
    its own (its agent type's). So, per session, the system prompt of the first new
    conversation with tools is remembered as the person's; a later new conversation with tools
    under a *different* system prompt in that session is a subagent (agent work, not billed
    as a person's turn).

    Why this and no looser rule, against both errors:
    - Under-billing (a person's turn sent as `agent`) needs a person to start a new
      conversation in a session already seen, under another system prompt: retries and
      rewinds keep the system prompt, later prompts carry the history (not new), `/clear`
      starts a new session, and side calls without tools (title, warmup) neither seed a
      session nor are judged by it.
    - Over-billing (a subagent sent as `user`) remains where nothing can tell: a session this
      process has not seen (a restart, another worker), or a subagent under the main prompt.
    Memory is bounded (least recently used sessions are forgotten) and per process.
    """

    def __init__(self, capacity: int = MAX_SESSIONS) -> None:
        self._capacity = capacity
        self._main: OrderedDict[str, str] = OrderedDict()  # session -> digest of its main system prompt

    def is_subagent(self, session: str, system: tuple[str, ...]) -> bool:
        """For a new conversation with tools in `session`: is it another agent's?"""
        digest = _digest(system)
        known = self._main.get(session)
        if known is None:
            self._main[session] = digest
            if len(self._main) > self._capacity:
                self._main.popitem(last=False)
            return False
        self._main.move_to_end(session)
        return known != digest


def classify(req: ClientRequest, header_session: str | None, sessions: Sessions) -> Interaction:
    """What Copilot is told about who started `req` (see the module's doc)."""
    body = req.body
    conversation = _read(body)
    marker = _subagent_marker(conversation)
    session = _client_session(body, header_session)
    if marker is not None:
        return Interaction("agent", SUBAGENT, _valid_session(marker.get("session_id")) or session)
    if _is_compaction(conversation):
        return Interaction("agent", COMPACTION, session)
    initiator = initiator_for(body.get("messages") if "messages" in body else body.get("input"))
    if conversation.fresh and not body.get("tools"):
        warmup = req.endpoint == MESSAGES and conversation.last_text == WARMUP
        return Interaction(initiator, None, session, warmup)
    if conversation.fresh and session is not None and sessions.is_subagent(session, conversation.system):
        return Interaction("agent", SUBAGENT, session)
    return Interaction(initiator, None, session)


# reading a request --------------------------------------------------------------------------


def _texts(content: Any) -> tuple[str, ...]:
    if isinstance(content, str):
        return (content,)
    if not isinstance(content, list):
        return ()
    return tuple(p["text"] for p in content
                 if isinstance(p, MAPPING) and p.get("type") in TEXT_PARTS and isinstance(p.get("text"), str))


def _only_tool_results(content: Any) -> bool:
    return isinstance(content, list) and bool(content) and all(
        isinstance(p, MAPPING) and p.get("type") == "tool_result" for p in content)


def _read(body: Mapping[str, Any]) -> _Conversation:
    system: list[str] = []
    for name in ("system", "instructions"):  # Anthropic's and Responses' (chat's are messages)
        if name in body:
            system.extend(_texts(body[name]))
    items = body.get("messages") if "messages" in body else body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    turns, fresh = 0, True
    first: tuple[str, ...] | None = None
    last: tuple[str, ...] | None = None  # the texts of the last turn, when a person's
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, MAPPING):
            continue
        role, content = item.get("role"), item.get("content")
        if item.get("type", "message") != "message" or role in AGENT_ROLES:
            turns, fresh, last = turns + 1, False, None  # an assistant turn, a tool's output, a reference
        elif role in ("system", "developer"):
            system.extend(_texts(content))
        elif isinstance(content, list) and _only_tool_results(content):  # a user message of tool results only
            turns, fresh, last = turns + 1, False, None
        else:  # a person's turn (a string, the usual content, read without a call)
            turns, last = turns + 1, (content,) if isinstance(content, str) else _texts(content)
            first = last if first is None else first
    return _Conversation(tuple(system), fresh and turns > 0, first or (), last)


def _subagent_marker(conversation: _Conversation) -> Mapping[str, Any] | None:
    """The `__SUBAGENT_MARKER__{...}` object in the first user message, if there is one."""
    for text in conversation.first_texts:
        if SUBAGENT_MARKER not in text:  # the regex only where a marker may be: most texts have none
            continue
        for reminder in REMINDER.finditer(text):
            inside = reminder.group(1)
            at = inside.find(SUBAGENT_MARKER)
            if at < 0:
                continue
            try:
                marker, _ = json.JSONDecoder().raw_decode(inside[at + len(SUBAGENT_MARKER):].lstrip())
            except ValueError:
                continue
            if isinstance(marker, MAPPING):
                return marker
    return None


def _is_compaction(conversation: _Conversation) -> bool:
    for text in conversation.system:  # a loop, not any() over a generator: most have no system text
        if text.lstrip().startswith(COMPACTION_SYSTEM):
            return True
    last = conversation.last_text  # the last text block, so a prompt after a summary is the person's
    return COMPACTION_PROMPT in last or last.startswith(CONTINUATION)


def _client_session(body: Mapping[str, Any], header: str | None) -> str | None:
    """The session the client names: Anthropic's `metadata.user_id` (Claude Code's JSON
    `{"session_id": ...}`, or its older `user_..._session_<id>`), else the header. Sent as a
    header, it must be one: else InvalidRequest (400)."""
    metadata = body.get("metadata")
    # `is not None` first: isinstance() of None against the Mapping ABC costs a Python call
    user_id = metadata.get("user_id") if metadata is not None and isinstance(metadata, MAPPING) else None
    session: str | None = None
    if isinstance(user_id, str):
        try:
            parsed = json.loads(user_id)
        except ValueError:
            parsed = None
        if isinstance(parsed, MAPPING) and isinstance(parsed.get("session_id"), str) and parsed["session_id"]:
            session = parsed["session_id"]
        elif (legacy := LEGACY_SESSION.search(user_id)) is not None:
            session = legacy.group(1)
    session = session or header
    return checked_interaction_id(session) if session is not None else None


def _valid_session(value: Any) -> str | None:
    # The marker is written by a hook, not by the person: an unusable id is ignored.
    if not isinstance(value, str):
        return None
    try:
        return checked_interaction_id(value)
    except InvalidRequest:
        return None


def _digest(system: tuple[str, ...]) -> str:
    kept = (text for text in system if not text.startswith(BILLING_HEADER))
    return hashlib.sha256("\x00".join(kept).encode("utf-8", "surrogatepass")).hexdigest()


# the warmup's model ------------------------------------------------------------------------


def unbilled(info: Mapping[str, Any]) -> bool:
    """A chat model the catalogue bills nothing for: not premium, multiplier 0."""
    billing = info.get("billing") or {}
    capabilities = info.get("capabilities") or {}
    return (isinstance(billing, MAPPING) and billing.get("is_premium") is False and not billing.get("multiplier")
            and isinstance(capabilities, MAPPING) and capabilities.get("type", "chat") == "chat")


async def small_model(catalogue: Catalogue, setting: str | None) -> str | None:
    """The model that answers a warmup: the setting; unset, an unbilled small model from the
    catalogue (None when it has none or cannot be had); "" (off): None."""
    if setting is not None:
        return setting or None
    try:
        models = await catalogue.models()
    except UpstreamError:
        return None
    free = {m["id"]: m for m in models if unbilled(m)}
    return next((name for name in SMALL_MODELS if name in free), next(iter(free), None))


async def shown_as(batches: AsyncIterator[list[Json]], model: str) -> AsyncIterator[list[Json]]:
    """A stream's events, naming `model` wherever they name theirs."""
    async for batch in batches:
        yield [rename(event, model) for event in batch]


def rename(payload: Json, model: str) -> Json:
    """An answer or event that names `model` (top level, Anthropic's `message`, Responses'
    `response`) where it named the one that answered."""
    for home in (payload, payload.get("message"), payload.get("response")):
        if isinstance(home, dict) and isinstance(home.get("model"), str):
            home["model"] = model
    return payload
