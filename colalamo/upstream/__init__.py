"""Talking to GitHub and Copilot: headers, the Copilot token lifecycle, the API client."""

from .client import ChatStream, CopilotClient
from .token_manager import CopilotToken, TokenManager

__all__ = ["ChatStream", "CopilotClient", "CopilotToken", "TokenManager"]
