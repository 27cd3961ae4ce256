"""The event loop the server runs on: uvloop's when it is installed (`pip install
'colalamo[fast]'`) and COLALAMO_EVENT_LOOP allows it, else asyncio's. uvloop does the loop's
and the sockets' work in C: the benchmark (bench/run.py) shows what it saves on this machine."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .exceptions import ConfigError

T = TypeVar("T")


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory for "auto" (when installed) and "uvloop"; None: asyncio's.
    uvloop needs Python 3.11's `asyncio.Runner` here; on 3.10 "auto" is asyncio's loop."""
    if choice == "asyncio":
        return None
    try:
        if not hasattr(asyncio, "Runner"):
            raise ImportError("uvloop is used on Python 3.11 and later")
        uvloop = importlib.import_module("uvloop")
    except ImportError as exc:
        if choice == "uvloop":
            raise ConfigError(f"COLALAMO_EVENT_LOOP=uvloop, but {exc}: pip install 'colalamo[fast]' "
                              "(or COLALAMO_EVENT_LOOP=asyncio)") from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """`asyncio.run(main)`, on the loop `choice` names."""
    factory = loop_factory(choice)
    if sys.version_info < (3, 11) or factory is None:  # no asyncio.Runner before 3.11
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """"uvloop" or "asyncio": what the running loop is (the server logs it at start)."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
