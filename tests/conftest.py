"""Fixtures: the fake GitHub + Copilot, and the real colalamo server in front of it.

Everything listens on free loopback ports. Each test gets a fresh fake and server, and runs
in an empty working directory with HOME and XDG_CONFIG_HOME pointing into it and no proxy
settings, so no real token, `.env` or proxy of the developer's can leak in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pytest
from helpers import Served
from readme_blocks import blocks, imported
from user_typing import MypyRun
from warm_python import WarmPython

from colalamo._upstream.pacing import PACING
from colalamo.config import Settings
from colalamo.testing import FakeCopilot, Pacing, running_fake, running_server

T = TypeVar("T")

if TYPE_CHECKING:
    import openai


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        # the developer's settings and proxies stay out: everything here is loopback
        if name.startswith("COLALAMO_") or name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return tmp_path / "home" / "github-token"


@pytest.fixture
def process_env(fake: FakeCopilot, token_file: Path) -> dict[str, str]:
    """The environment of a `colalamo` process (a command or a server) that uses the fake."""
    return {**os.environ, **fake.env(), "COLALAMO_TOKEN_FILE": str(token_file)}


@pytest.fixture
def serve_process(process_env: dict[str, str]) -> Iterator[Callable[..., Served]]:
    """Start `colalamo serve [--port 0] [args]` processes (`--port 0` unless args name a port),
    settings given as environment variables (`COLALAMO_UI="0"`); any still running at the end
    are killed."""
    started: list[Served] = []

    def start(*args: str, preexec: Callable[[], None] | None = None, **env: str) -> Served:
        port = () if "--port" in args else ("--port", "0")
        started.append(Served(["serve", *port, *args], {**process_env, **env}, preexec=preexec))
        return started[-1]

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=30)


@pytest.fixture
def fake() -> Iterator[FakeCopilot]:
    with running_fake(device_interval=0.05, slow_down_step=0.05) as fake:
        yield fake


@pytest.fixture
def settings(fake: FakeCopilot, token_file: Path) -> Settings:
    return fake.settings(token_file=token_file)


@pytest.fixture
def start_server(fake: FakeCopilot, token_file: Path) -> Iterator[Callable[..., str]]:
    """Start the real colalamo server against the fake, with some settings changed (and, for
    tests that wait on retries or token refreshes, quicker `pacing`)."""
    with ExitStack() as stack:

        def start(*, pacing: Pacing = PACING, **overrides: Any) -> str:
            settings = fake.settings(token_file=token_file, **overrides)
            return stack.enter_context(running_server(settings, pacing=pacing))

        yield start


@pytest.fixture
def server(start_server: Callable[..., str]) -> str:
    return start_server()


@pytest.fixture
def client(server: str) -> Iterator[openai.OpenAI]:
    import openai  # here: a run of tests that need no client (the sdist's) skips its second of imports

    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
        yield client


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Any]:
    """A real redis-server on a free loopback port, with no persistence (skipped, saying why,
    only where the binary is missing; CI installs it)."""
    from redis_server import MISSING, REDIS_SERVER, RedisServer

    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


def readme_python_started() -> WarmPython:
    """Imported in an empty directory, with no settings or proxies."""
    where = Path(tempfile.mkdtemp(prefix="colalamo-readme-python-"))
    proxies = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("COLALAMO_") and name.lower() not in proxies}
    preload = sorted({name for code in blocks("python") for name in imported(code)})
    return WarmPython(preload, env={**env, "HOME": str(where)}, cwd=where)


def stopped(warm: WarmPython) -> None:
    try:
        warm.close()
    finally:
        shutil.rmtree(warm.cwd, ignore_errors=True)


@dataclass(frozen=True)
class EarlyStart(Generic[T]):
    """Work of another process that a test waits on for seconds: started with the session
    when `test_file` is among what runs, so it is done on the other core while the tests are
    collected; else started when the test asks for it."""

    test_file: str
    start: Callable[[], T]
    stop: Callable[[T], None]
    key: pytest.StashKey[T] = field(default_factory=pytest.StashKey)

    def given(self, config: pytest.Config) -> Iterator[T]:
        early = config.stash.get(self.key, None)
        if early is not None:
            yield early  # stopped at the session's end
            return
        late = self.start()
        try:
            yield late
        finally:
            self.stop(late)


# The interpreter the README's python examples are forked from (it imports openai, anthropic,
# langchain and llama_index), and mypy checking a user's code.
README_PYTHON = EarlyStart("test_readme.py", readme_python_started, stopped)
USER_TYPING = EarlyStart("test_typing.py", MypyRun, MypyRun.close)
EARLY_STARTS: tuple[EarlyStart[Any], ...] = (README_PYTHON, USER_TYPING)
HERE = Path(__file__).parent


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly:
        return
    chosen = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]

    def runs(test_file: Path) -> bool:
        return any(path == test_file or path in test_file.parents for path in chosen)

    for early in EARLY_STARTS:
        if runs(HERE / early.test_file):
            config.stash[early.key] = early.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    for early in EARLY_STARTS:
        started = session.config.stash.get(early.key, None)
        if started is not None:
            early.stop(started)


@pytest.fixture(scope="session")
def readme_python(request: pytest.FixtureRequest) -> Iterator[WarmPython]:
    """Runs each README example in a process of its own, forked from the warm interpreter."""
    yield from README_PYTHON.given(request.config)


@pytest.fixture
def user_typing(request: pytest.FixtureRequest) -> Iterator[MypyRun]:
    """mypy's run on a user's code (tests/user_typing.py)."""
    yield from USER_TYPING.given(request.config)
