"""The OpenAI-compatible API: chat completions, legacy completions, embeddings, models."""

from aiohttp import web

from . import chat, completions, embeddings, models


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):  # clients configured with and without /v1 both work
        app.router.add_post(f"{prefix}/chat/completions", chat.chat_completions)
        app.router.add_post(f"{prefix}/completions", completions.completions)
        app.router.add_post(f"{prefix}/embeddings", embeddings.embeddings)
        app.router.add_get(f"{prefix}/models", models.list_models)
        app.router.add_get(f"{prefix}/models/{{model_id:.+}}", models.get_model)
