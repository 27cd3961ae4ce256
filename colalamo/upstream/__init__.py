"""Talking to GitHub and Copilot: headers, the Copilot token lifecycle, the API client."""

from .client import CopilotClient
from .event_stream import EventStream
from .token_manager import CopilotToken, TokenManager

__all__ = ["CopilotClient", "EventStream", "CopilotToken", "TokenManager"]
