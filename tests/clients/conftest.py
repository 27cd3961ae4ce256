"""The `clients` tier: the real coding agents and SDKs, headless, against the real colalamo.

Each test gets the fake Copilot and the real colalamo server (the main suite's fixtures), a
recording pass-through in front of colalamo (`colalamo`), and runs one client in a subprocess
with HOME and the XDG directories in its tmp dir, telemetry and updates off, and a timeout.
Run: `python tests/clients/install.py && pytest -m clients tests/clients`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agents import CAPTURE, CAPTURES, INSTALL, Clients
from recorder import Exchange, Recorder, recording, save_capture


@pytest.fixture(scope="session")
def clients_root() -> Path:
    if INSTALL is None:
        pytest.skip(
            "the real clients are not installed (or not at the pinned versions): "
            "run `python tests/clients/install.py` (needs Node.js 20+, npm and PyPI access; ~2 GB)"
        )
    return INSTALL


@pytest.fixture
def clients(clients_root: Path, tmp_path: Path, isolated: Path) -> Clients:
    return Clients(clients_root, tmp_path / "home", isolated)


@pytest.fixture
def colalamo(server: str) -> Iterator[Recorder]:
    """colalamo (real server, fake Copilot), seen through a recorder of what the client sends."""
    with recording(server) as recorder:
        yield recorder


@pytest.fixture
def capture() -> Callable[[Exchange, str], None]:
    """`capture(exchange, "client-api")`: keep a client's request as a fixture for the main
    suite (tests/data/clients/), when COLALAMO_CLIENTS_CAPTURE=1."""

    def keep(exchange: Exchange, name: str) -> None:
        if CAPTURE:
            save_capture(exchange, name, CAPTURES)

    return keep
