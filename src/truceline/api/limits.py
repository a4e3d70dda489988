"""Limits every request meets before a route sees it: body size and time.

Both are plain ASGI middleware. A body over ``max_body_bytes`` (by its
``Content-Length`` or as it streams in) is refused with 413 before it is
parsed; a request that has not begun its response within ``timeout_s`` gets a
503 (a write that finishes later is still stored once: submissions are
idempotent by client id, so the client resubmits the same records).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from truceline.api.errors import PROBLEM_JSON

__all__ = ["ApiLimits", "BodyLimit", "Timeout"]


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """The API's limits (``truceline serve`` flags of the same names)."""

    max_body_bytes: int = 32 * 1024 * 1024
    max_batch: int = 10_000
    rate_per_s: float = 200.0  # per token; 0 turns the limit off
    burst: int = 400
    timeout_s: float = 60.0
    max_page: int = 10_000


async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
    titles = {413: "Content too large", 503: "Service unavailable"}
    body = json.dumps(
        {
            "type": f"urn:truceline:problem:{code}",
            "title": titles.get(status, "Error"),
            "status": status,
            "detail": detail,
            "ok": False,
            "error": detail,
            "code": code,
            "errors": [],
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a request body larger than ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is over the limit of {self.limit} bytes"
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.limit:
                    await _send_problem(send, 413, "too_large", detail)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return msg

        async def watch(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counted, watch)
        except _TooLarge:
            if not started:
                await _send_problem(send, 413, "too_large", detail)


class Timeout:
    """Answer 503 when a request has not started its response within ``seconds``."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        # one task and a wait on it with a deadline (no event, no second task)
        task = asyncio.ensure_future(self.app(scope, receive, watch))
        done, _ = await asyncio.wait((task,), timeout=self.seconds)
        if not done and not started:
            task.cancel()
            detail = (
                f"no answer within {self.seconds:g} s; resubmitting the same records is safe "
                "(a record is stored once by its client id)"
            )
            await _send_problem(send, 503, "timeout", detail)
            return
        await task  # done, or a stream begun in time, which runs as long as it needs
