"""`GET /v1/models` and `GET /v1/models/{id}`: Copilot's list, in OpenAI's shape, or in
Anthropic's when the client sends `anthropic-version` (the Anthropic SDK's `models.list()`
calls the same path).

In OpenAI's shape, Copilot's own fields (name, vendor, capabilities with limits, billing) are kept beside
OpenAI's, so clients that know them can read the context window and the like.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .app_keys import CORE
from .errors import ApiError

CREATED_UNKNOWN = 0  # Copilot does not say when a model was created


def openai_model(model: dict[str, Any]) -> dict[str, Any]:
    return {
        **model,
        "id": model["id"],
        "object": "model",
        "created": model.get("created") or CREATED_UNKNOWN,
        "owned_by": model.get("owned_by") or model.get("vendor") or "github-copilot",
    }


def anthropic_model(model: dict[str, Any]) -> dict[str, Any]:
    return {"type": "model", "id": model["id"], "display_name": model.get("name") or model["id"],
            "created_at": "1970-01-01T00:00:00Z"}  # Copilot does not say when


def _wants_anthropic(request: web.Request) -> bool:
    # The Anthropic SDK's models.list() calls the same /v1/models, with this header.
    return "anthropic-version" in request.headers


async def list_models(request: web.Request) -> web.Response:
    models = await request.app[CORE].copilot.models()
    if _wants_anthropic(request):
        data = [anthropic_model(m) for m in models]
        return web.json_response({"data": data, "has_more": False,
                                  "first_id": data[0]["id"] if data else None,
                                  "last_id": data[-1]["id"] if data else None})
    return web.json_response({"object": "list", "data": [openai_model(m) for m in models]})


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):  # clients configured with and without /v1 both work
        app.router.add_get(f"{prefix}/models", list_models)
        app.router.add_get(f"{prefix}/models/{{model_id:.+}}", get_model)


async def get_model(request: web.Request) -> web.Response:
    model_id = request.match_info["model_id"]
    for model in await request.app[CORE].copilot.models():
        if model["id"] == model_id:
            shape = anthropic_model if _wants_anthropic(request) else openai_model
            return web.json_response(shape(model))
    raise ApiError(404, f"the model {model_id!r} does not exist", param="model", code="model_not_found")
