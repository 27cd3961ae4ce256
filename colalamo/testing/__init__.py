"""Test colalamo, and apps built on it, offline: a faithful fake of GitHub and Copilot.

    from colalamo import Copilot
    from colalamo.testing import running_fake

    with running_fake() as fake:
        copilot = Copilot(fake.settings(token_file=tmp_path / "token"))
        assert copilot.ask([{"role": "user", "content": "hi"}])["text"]["reply"] == "echo: hi"

`async with FakeCopilot() as fake:` does the same inside an event loop.
"""

from .._upstream.pacing import Pacing
from .answers import echo_reply
from .background import running_fake, running_server, wait_until, wait_until_async
from .fake import GITHUB_TOKEN, ROUTES, FakeCopilot, Fault, RecordedRequest, gzip_bomb

__all__ = [
    "GITHUB_TOKEN",
    "ROUTES",
    "FakeCopilot",
    "Fault",
    "Pacing",
    "RecordedRequest",
    "echo_reply",
    "gzip_bomb",
    "running_fake",
    "running_server",
    "wait_until",
    "wait_until_async",
]
