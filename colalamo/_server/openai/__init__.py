"""The OpenAI-compatible API: chat completions, legacy completions, embeddings (the model
list, which Anthropic clients read too, is `server/models.py`)."""

from aiohttp import web

from . import chat, completions, embeddings


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):  # clients configured with and without /v1 both work
        app.router.add_post(f"{prefix}/chat/completions", chat.chat_completions)
        app.router.add_post(f"{prefix}/completions", completions.completions)
        app.router.add_post(f"{prefix}/embeddings", embeddings.embeddings)
