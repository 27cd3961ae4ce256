"""The yardstick: the least an aiohttp proxy can do (forward the body, stream the answer back).
Usage: UPSTREAM=http://127.0.0.1:9999 TOKEN=<copilot token> python bench/passthrough.py PORT"""
import os
import sys

import aiohttp
from aiohttp import web

HEADERS = {"Authorization": f"Bearer {os.environ['TOKEN']}", "Editor-Version": "vscode/1.104.3",
           "Copilot-Integration-Id": "vscode-chat", "Content-Type": "application/json"}


async def forward(request: web.Request) -> web.StreamResponse:
    session = request.app["session"]
    url = os.environ["UPSTREAM"] + "/chat/completions"
    async with session.post(url, data=await request.read(), headers=HEADERS) as up:
        response = web.StreamResponse(status=up.status, headers={"Content-Type": up.headers["Content-Type"]})
        await response.prepare(request)
        async for chunk in up.content.iter_any():
            await response.write(chunk)
        return response


async def session_ctx(app: web.Application):
    app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    yield
    await app["session"].close()

app = web.Application()
app.cleanup_ctx.append(session_ctx)
app.router.add_post("/v1/chat/completions", forward)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
