"""LangChain (langchain-openai) and LlamaIndex (OpenAILike) pointed at colalamo, defaults kept."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import BaseModel

from colalamo.testing import FakeCopilot, wait_until

langchain_openai = pytest.importorskip("langchain_openai")
openai_like = pytest.importorskip("llama_index.llms.openai_like")

from langchain_core.messages import HumanMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from llama_index.core.base.llms.types import ChatMessage  # noqa: E402
from llama_index.core.tools import FunctionTool  # noqa: E402


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    degrees: int


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def get_time(tz: str) -> str:
    """The time in a time zone."""
    return f"noon in {tz}"


# LangChain -----------------------------------------------------------------------------------


@pytest.fixture
def chat(server: str):
    return langchain_openai.ChatOpenAI(model="gpt-4.1", base_url=f"{server}/v1", api_key="unused", max_retries=0)


def test_langchain_invoke_and_stream(chat, fake: FakeCopilot) -> None:
    assert chat.invoke("hello there").content == "echo: hello there"
    assert "".join(c.content for c in chat.stream("hello there")) == "echo: hello there"
    assert asyncio.run(chat.ainvoke("hi")).content == "echo: hi"


def test_langchain_max_tokens_reaches_copilot_in_its_form(server: str, fake: FakeCopilot) -> None:
    chat = langchain_openai.ChatOpenAI(
        model="gpt-4.1", base_url=f"{server}/v1", api_key="unused", max_tokens=2, max_retries=0
    )
    message = chat.invoke("hello there")

    assert message.content == "echo: hello "
    assert message.response_metadata["finish_reason"] == "length"
    assert fake.recorded("chat")[-1].body["max_tokens"] == 2  # LangChain sent max_completion_tokens


def test_langchain_bind_tools_round_trip(chat) -> None:
    bound = chat.bind_tools([get_weather])
    question = HumanMessage('get_weather {"city": "Paris"}')  # the fake calls the tools a prompt names
    call_message = bound.invoke([question])

    (call,) = call_message.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    final = bound.invoke([question, call_message, result])
    assert final.content == "echo: the tool said sunny in Paris"


def test_langchain_streamed_tool_calls(chat) -> None:
    chunks = list(chat.bind_tools([get_weather]).stream('get_weather {"city": "Paris"}'))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert whole.tool_calls[0]["name"] == "get_weather"
    assert whole.tool_calls[0]["args"] == {"city": "Paris"}


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_with_structured_output(chat, method: str) -> None:
    weather = chat.with_structured_output(Weather, method=method).invoke("Oslo")
    assert weather == Weather(city="Oslo", degrees=1)


def test_langchain_embeddings(server: str) -> None:
    embeddings = langchain_openai.OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=f"{server}/v1",
        api_key="unused",
        check_embedding_ctx_length=False,  # its tokenizer would download encodings: offline here
    )
    vectors = embeddings.embed_documents(["hello", "world"])
    assert len(vectors) == 2 and len(vectors[0]) == 1536
    assert embeddings.embed_query("hello") == pytest.approx(vectors[0], abs=1e-6)


# LlamaIndex ----------------------------------------------------------------------------------


def test_llamaindex_defaults_complete_and_stream_complete(
    server: str, fake: FakeCopilot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="colalamo.access")
    llm = openai_like.OpenAILike(model="gpt-4.1", api_base=f"{server}/v1", api_key="unused")

    assert llm.complete("hello there").text == "echo: hello there"
    assert "".join(r.delta for r in llm.stream_complete("hello there")) == "echo: hello there"
    assert [r.body["messages"] for r in fake.recorded("chat")] == [[{"role": "user", "content": "hello there"}]] * 2
    # is_chat_model=False by default: LlamaIndex used the legacy route
    # access lines are written after each answer is sent: wait for both
    wait_until(lambda: caplog.text.count("method=POST path=/v1/completions model=gpt-4.1 status=200") == 2, timeout=5)


@pytest.fixture
def llama_chat(server: str):
    return openai_like.OpenAILike(
        model="gpt-4.1", api_base=f"{server}/v1", api_key="unused",
        is_chat_model=True, is_function_calling_model=True,
    )


def test_llamaindex_chat_and_stream_chat(llama_chat) -> None:
    messages = [ChatMessage(role="user", content="hello there")]
    assert llama_chat.chat(messages).message.content == "echo: hello there"
    assert "".join(r.delta or "" for r in llama_chat.stream_chat(messages)) == "echo: hello there"


def test_llamaindex_tool_calling(llama_chat) -> None:
    tools = [FunctionTool.from_defaults(fn=get_time)]
    response = llama_chat.chat_with_tools(tools, user_msg='get_time {"tz": "Tokyo"}')  # named: the fake calls it
    (call,) = llama_chat.get_tool_calls_from_response(response, error_on_no_tool_call=True)
    assert call.tool_name == "get_time" and call.tool_kwargs == {"tz": "Tokyo"}

    streamed = list(llama_chat.stream_chat_with_tools(tools, user_msg='get_time {"tz": "Tokyo"}'))
    (call,) = llama_chat.get_tool_calls_from_response(streamed[-1], error_on_no_tool_call=True)
    assert call.tool_kwargs == {"tz": "Tokyo"}
