"""Tokens never reach a log; the header rules Copilot bills by."""

from __future__ import annotations

import logging

import openai
import pytest
from helpers import USER_HELLO

from colalamo._logging import SecretMaskingFilter, mask_secrets
from colalamo._upstream.headers import has_image, initiator_for
from colalamo.testing import GITHUB_TOKEN, FakeCopilot


def test_no_token_is_logged_even_at_debug_level(
    client: openai.OpenAI, fake: FakeCopilot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    fake.expire_copilot_tokens()  # exercise the refresh path too
    client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    copilot_tokens = [r.headers["Authorization"].split()[1] for r in fake.recorded("chat")]
    assert caplog.records  # something was logged
    for secret in [GITHUB_TOKEN, *copilot_tokens]:
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("token gho_abcdefghijklmnop", "token gho_***"),
        ("using gho_abcdefghijklmnop now", "using gho_*** now"),
        ("pat github_pat_11ABCDEFG0123456789", "pat github_pat_***"),
        ("Authorization: Bearer tid=abc;exp=123;sku=x", "Authorization: Bearer tid=***"),
        ("copilot tid=abc;exp=123;sku=x:sig", "copilot tid=***"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_mask_secrets(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_masking_filter_rewrites_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s", (GITHUB_TOKEN,), None)
    SecretMaskingFilter().filter(record)
    assert GITHUB_TOKEN not in record.getMessage()


@pytest.mark.parametrize(
    ("roles", "initiator"),
    [
        (["user"], "user"),
        (["system", "user"], "user"),
        (["user", "assistant", "user"], "user"),  # a person's new turn in a long chat
        (["user", "assistant"], "agent"),
        (["user", "assistant", "tool"], "agent"),  # an agent loop sending tool results
    ],
)
def test_initiator_follows_the_latest_turn(roles: list[str], initiator: str) -> None:
    assert initiator_for([{"role": role, "content": "x"} for role in roles]) == initiator


def test_vision_detection() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    assert has_image([{"role": "user", "content": [{"type": "text", "text": "hi"}, image]}])
    assert not has_image([{"role": "user", "content": "an image_url in text"}])
