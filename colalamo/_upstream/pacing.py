"""How long colalamo waits before it asks GitHub or Copilot again.

The defaults are the product's; the server, the library and the CLI always use them. The
in-process tests hand `create_app` (through `colalamo.testing.running_server`) shorter ones,
so that what takes seconds at this pace takes a fraction of one, with nothing else changed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pacing:
    #: Waits before each new try of a connection to Copilot that could not even be made.
    connect_retry_delays: tuple[float, ...] = (0.1, 0.3, 0.9)
    #: Seconds between two Copilot token exchanges at the least, whatever the tokens say.
    refresh_floor: float = 1.0
    #: The first back-off after a failed token exchange; it doubles with each failure in a row.
    backoff_first: float = 1.0


PACING = Pacing()
