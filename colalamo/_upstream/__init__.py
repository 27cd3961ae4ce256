"""Talking to GitHub and Copilot: headers, the Copilot token lifecycle, the API client.

Nothing is imported here: `from colalamo._upstream.client import CopilotClient` and the like,
so that importing one small module (headers, for the login) does not import the whole client."""
