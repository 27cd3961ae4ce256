"""Property-based: whatever is thrown at any route, the answer is never a 5xx, every error is
in the route's own format, and the server keeps answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colalamo._loop_thread import LoopThread
from colalamo.testing import running_fake, running_server

ROUTES = {  # route -> the fields that matter there, so that near-valid bodies come up too
    "/v1/chat/completions": ["messages", "model", "stream", "n", "tools", "tool_choice", "response_format", "stop"],
    "/v1/completions": ["prompt", "model", "stream", "n", "echo", "best_of"],
    "/v1/embeddings": ["input", "model", "encoding_format", "dimensions"],
    "/v1/messages": ["messages", "model", "max_tokens", "system", "tools", "tool_choice", "stream"],
    "/v1/messages/count_tokens": ["messages", "model", "system", "tools"],
    "/v1/responses": ["input", "model", "instructions", "tools", "previous_response_id", "stream"],
    "/ask": ["messages", "model", "stream"],
}
ROLES = ["user", "assistant", "system", "tool", "developer", "robot", ""]

scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20) | st.sampled_from(ROLES)
)
object_keys = st.sampled_from(["role", "content", "type", "text", "name", "id"]) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(object_keys, children, max_size=4),
    max_leaves=12,
)
messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(ROLES)}, optional={"content": json_values}), max_size=3
)


@st.composite
def bodies(draw: st.DrawFn, route: str) -> bytes:
    kind = draw(st.sampled_from(["object", "value", "bytes", "deep", "empty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "empty":
        return b""
    if kind == "deep":
        depth = draw(st.integers(min_value=50, max_value=5000))
        return b'{"messages": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "value":
        return json.dumps(draw(json_values)).encode()
    fields = st.sampled_from(ROUTES[route]) | st.text(max_size=10)
    body: dict[str, Any] = draw(st.dictionaries(fields, json_values, max_size=6))
    if draw(st.booleans()):
        body["messages"] = draw(messages)
    return json.dumps(body).encode()


CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "multipart/form-data"]
)


def in_route_format(route: str, body: Any) -> bool:
    if route == "/ask":
        return isinstance(body, dict) and {"reason", "text"} <= set(body)
    if route.startswith("/v1/messages"):
        return isinstance(body, dict) and body.get("type") == "error" and {"type", "message"} <= set(body["error"])
    return isinstance(body, dict) and {"message", "type", "param", "code"} <= set(body.get("error", {}))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LoopThread, aiohttp.ClientSession]]:
    token_file = Path(tmp_path_factory.mktemp("bad-input")) / "github-token"
    loop = LoopThread("hypothesis-client")

    async def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    http = loop.run(session())
    with running_fake(record=False) as fake, running_server(fake.settings(token_file=token_file)) as url:
        yield url, loop, http
    loop.run(http.close())
    loop.stop()


def send(
    target: tuple[str, LoopThread, aiohttp.ClientSession], route: str, raw: bytes, content_type: str
) -> tuple[int, Any]:
    url, loop, http = target

    async def main() -> tuple[int, Any]:
        headers = {"Content-Type": content_type} if content_type else {}
        async with http.post(url + route, data=raw, headers=headers) as response:
            text = await response.text()
            if response.content_type == "text/event-stream":
                return response.status, text
            return response.status, json.loads(text)

    return loop.run(main())


@pytest.mark.parametrize("route", list(ROUTES))
def test_no_body_breaks_a_route(target, route: str) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(raw=bodies(route), content_type=CONTENT_TYPES)
    def check(raw: bytes, content_type: str) -> None:
        status, body = send(target, route, raw, content_type)
        assert status < 500, (status, body)
        if status >= 400:
            assert 400 <= status < 500 and in_route_format(route, body), body

    check()
    still_there = b'{"messages": [{"role": "user", "content": "still there?"}]}'
    status, body = send(target, "/v1/chat/completions", still_there, "application/json")
    assert status == 200 and body["choices"][0]["message"]["content"] == "echo: still there?"


@pytest.mark.parametrize("n", [0, -1, 129, 10**12, 1.5, "2", True])
def test_absurd_n_is_refused(target, n: Any) -> None:
    raw = json.dumps({"messages": [{"role": "user", "content": "x"}], "n": n}).encode()
    status, body = send(target, "/v1/chat/completions", raw, "application/json")
    assert status == 400 and body["error"]["param"] == "n"
