"""Request bodies read with a limit: 413 as soon as a body is known to exceed it, never a body read in full first.

`read_body` is the one reader: image uploads call it after their auth check, and `BodyLimit` (ASGI middleware)
calls it for every other POST/PUT/PATCH before FastAPI parses JSON, then replays the body to the route.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class BodyLimit:
    """ASGI middleware: bodies of POST/PUT/PATCH over `limit` are refused with 413 before the route parses them.

    Paths in `own_limit` read their own body (with `read_body`, after auth) and are left alone.
    """

    def __init__(self, app, limit: int, own_limit: frozenset[str] = frozenset()) -> None:
        self.app, self.limit, self.own_limit = app, limit, own_limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or scope["path"] in self.own_limit:
            return await self.app(scope, receive, send)
        try:
            body = await read_body(Request(scope, receive), self.limit)
        except ClientDisconnect:
            return
        except HTTPException as error:
            return await JSONResponse({"detail": error.detail}, status_code=error.status_code)(scope, _gone, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect, as Starlette expects
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _gone():
    return {"type": "http.disconnect"}
