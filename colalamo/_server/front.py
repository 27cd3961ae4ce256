"""The one middleware every request passes, doing in order what were five (a coroutine frame
each, per request in flight, and a layer of calls per request):

1. in flight: the handler task is tracked, for the graceful shutdown (shutdown.py);
2. the request id and start time (observe.py);
3. metrics: the request is counted with its final status, after its errors are rendered
   (metrics.py);
4. errors: every failure answered in its route's format (errors.py);
5. auth: the API key checked and the call context begun (access.py).
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Middleware

from .access import authorize
from .app_keys import Handler
from .errors import Renderer
from .metrics import cancelled_status, count
from .observe import begin_request, final_status
from .shutdown import InFlight


def front_door(in_flight: InFlight, render: Renderer) -> Middleware:
    @web.middleware
    async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
        task = in_flight.enter()
        record = begin_request(request)
        status = 500
        try:
            try:
                authorize(request)
                response = await handler(request)
            except BaseException as exc:  # rendered in the route's format, or raised again
                response = render(request, exc)
            status = final_status(request, response.status)
            return response
        except asyncio.CancelledError:
            status = cancelled_status(request, status)
            raise
        finally:
            count(request, record, status)
            in_flight.leave(task)

    return front
