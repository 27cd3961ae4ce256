"""aider (`aider --message`), headless, through litellm's OpenAI provider on colalamo's chat
completions. aider makes no tool calls: it edits files from the reply's text, so its round trip
is an edit the fake's echo carries (a whole-file block).
"""

from __future__ import annotations

from typing import Any

import pytest
from agents import CLIENT_KEY, Clients, Finished
from recorder import Recorder

pytestmark = pytest.mark.clients

MODEL = "gpt-4.1"


def aider(clients: Clients, colalamo: Recorder, message: str, *options: str) -> Finished:
    argv = [
        clients.aider, "--openai-api-base", f"{colalamo.url}/v1", "--openai-api-key", CLIENT_KEY,
        "--model", f"openai/{MODEL}", "--no-git", "--yes-always", "--no-check-update", "--no-analytics",
        "--no-show-release-notes", "--no-show-model-warnings", "--no-pretty", "--no-fancy-input",
        "--map-tokens", "0", "--no-auto-lint", "--no-detect-urls", *options, "--message", message,
    ]
    # aider also fetches litellm's price list from GitHub at start; offline it fails at once
    # (a name that does not resolve) and aider goes on with the copy it ships
    return clients.run(argv, clients.env(LITELLM_LOCAL_MODEL_COST_MAP="True"), timeout=120)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_plain_prompt_ends_in_the_fakes_reply(clients: Clients, colalamo: Recorder, stream: bool, capture: Any) -> None:
    finished = aider(clients, colalamo, "say hi", "--stream" if stream else "--no-stream")

    posts = colalamo.posts("/v1/chat/completions")
    assert posts, finished.explain()
    capture(posts[0], f"aider-chat{'-stream' if stream else ''}")
    assert [p.status for p in posts] == [200], [(p.status, p.response) for p in posts]
    assert posts[0].body.get("stream", False) is stream
    assert finished.returncode == 0, finished.explain()
    assert "echo: say hi" in finished.stdout, finished.explain()


def test_an_edit_round_trip(clients: Clients, colalamo: Recorder) -> None:
    message = "Create it:\n\nproof.txt\n```\nfrom-aider\n```\n"
    finished = aider(clients, colalamo, message, "--edit-format", "whole")

    assert finished.returncode == 0, finished.explain()
    assert (clients.work / "proof.txt").read_text().strip() == "from-aider", finished.explain()
    assert "Applied edit to proof.txt" in finished.stdout
