"""Every error leaves the API in one shape: ``application/problem+json`` (RFC 9457).

The body carries the RFC's members (``type``, ``title``, ``status``, ``detail``)
and truceline's (``ok: false``, ``error``, ``code``, ``errors``: one entry per
rejected record or field with its ``reason``). A truceline error shows its
user-safe message; an unexpected exception shows a generic message and a
reference id that is logged with the traceback, never the exception's text.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from truceline.domain.errors import Problem, TrucelineError

__all__ = ["PROBLEM_JSON", "install_error_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("truceline.api")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    errors: Sequence[Problem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response (the one shape of every error)."""
    body: dict[str, Any] = {
        "type": f"urn:truceline:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "ok": False,
        "error": detail,
        "code": code,
        "errors": [p.to_dict() for p in errors[:1000]],
    }
    if len(errors) > 1000:
        body["errors_omitted"] = len(errors) - 1000
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _internal(exc: BaseException, request: Request) -> JSONResponse:
    ref = uuid.uuid4().hex[:12]
    log.error("unexpected error %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
    return problem_response(
        500, "internal", f"an unexpected error occurred; quote reference {ref} to the operators"
    )


def _truceline(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrucelineError)
    if exc.status >= 500:
        ref = uuid.uuid4().hex[:12]
        log.error("%s %s: %s (reference %s)", request.method, request.url.path, exc.message, ref)
        return problem_response(
            exc.status,
            exc.code,
            f"the service cannot do this now ({exc.code}); reference {ref}",
            headers={"Retry-After": "5"} if exc.status == 503 else None,
        )
    headers = {"Retry-After": "1"} if exc.status == 429 else None
    return problem_response(exc.status, exc.code, exc.message, exc.errors, headers)


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        Problem(str(e.get("msg", "invalid")), field=_field(e.get("loc", ()))) for e in exc.errors()
    ]
    where = {"query", "path", "header"} & {str(e.get("loc", ("",))[0]) for e in exc.errors()}
    what = "parameters" if where else "request body"
    n = len(problems)
    return problem_response(422, "invalid_input", f"invalid {what}: {n} problem(s)", problems)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    return problem_response(exc.status_code, code, detail, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return _internal(exc, request)


def install_error_handlers(app: FastAPI) -> None:
    """Register the one handler per kind of error on ``app``."""
    app.add_exception_handler(TrucelineError, _truceline)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
