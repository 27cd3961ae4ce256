"""The floor: the least any proxy shaped like colalamo does on aiohttp, with none of its features.

What every colalamo request must do whatever is built on top: one middleware (request id,
start time, errors), the body parsed and dumped again, Copilot's full header set sent, the
answer parsed and dumped again, every streamed event parsed and re-framed, `X-Request-Id` and
`Server-Timing` on the answer. No key check, validation, catalogue, budgets, billing, metrics,
ledger, access log or status page. On uvloop when it is installed, as colalamo is.

It answers how close any design on this stack can come to the pass-through: a target the floor
misses is out of reach of colalamo too, whatever is trimmed.
Usage: UPSTREAM=http://127.0.0.1:9999 TOKEN=<copilot token> python bench/floor.py PORT"""
import os
import sys
import time
import uuid

import aiohttp
import orjson
from aiohttp import web

URL = os.environ["UPSTREAM"] + "/chat/completions"
# The names and sizes of what colalamo sends with each call (_upstream/headers.py).
HEADERS = {"Authorization": f"Bearer {os.environ['TOKEN']}", "Copilot-Integration-Id": "vscode-chat",
           "Editor-Version": "vscode/1.118.0", "Editor-Plugin-Version": "copilot-chat/0.50.1",
           "User-Agent": "GitHubCopilotChat/0.50.1", "X-GitHub-Api-Version": "2026-06-01",
           "Content-Type": "application/json", "Editor-Device-Id": uuid.uuid4().hex,
           "Openai-Intent": "conversation-agent", "X-Interaction-Type": "conversation-agent",
           "VScode-SessionId": str(uuid.uuid4()), "X-Initiator": "user"}
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
RID = web.RequestKey("rid", str)
STARTED = web.RequestKey("started", float)
SESSION = web.AppKey("session", aiohttp.ClientSession)


@web.middleware
async def front(request: web.Request, handler):
    request[RID] = uuid.uuid4().hex
    request[STARTED] = time.monotonic()
    try:
        return await handler(request)
    except Exception as exc:
        return web.json_response({"error": {"message": str(exc)}}, status=500)


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["X-Request-Id"] = request[RID]
    response.headers["Server-Timing"] = f"colalamo;dur={(time.monotonic() - request[STARTED]) * 1000:.2f}"


async def forward(request: web.Request) -> web.StreamResponse:
    body = orjson.loads(await request.read())
    model = body["model"]
    headers = {**HEADERS, "X-Request-Id": request[RID]}
    async with request.app[SESSION].post(URL, data=orjson.dumps(body), headers=headers) as upstream:
        if not body.get("stream"):
            answer = orjson.loads(await upstream.read())
            answer["model"] = model
            return web.Response(body=orjson.dumps(answer), content_type="application/json")
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        pending = b""
        async for read in upstream.content.iter_any():
            *events, pending = (pending + read).split(b"\n\n")
            framed = []
            for event in events:
                data = event.removeprefix(b"data: ")
                if data == b"[DONE]":
                    framed.append(b"data: [DONE]\n\n")
                    continue
                payload = orjson.loads(data)
                payload["model"] = model
                framed.append(b"data: " + orjson.dumps(payload) + b"\n\n")
            await response.write(b"".join(framed))  # one write per upstream read, as colalamo
        await response.write_eof()
        return response


async def session(app: web.Application):
    app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    yield
    await app[SESSION].close()


def new_loop():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop()


app = web.Application(middlewares=[front])
app.on_response_prepare.append(add_headers)
app.cleanup_ctx.append(session)
app.router.add_post("/v1/chat/completions", forward)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None, loop=new_loop())
