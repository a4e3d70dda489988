"""One error taxonomy for truceline.

    TrucelineError                 (500, "internal")
    ├── InputError                 (422, "invalid_input")   bad records, files, arguments
    │   ├── AgreementError         (422, "invalid_agreement")
    │   ├── SignatureError         (422, "bad_signature")
    │   └── RejectedBatch          (422, "rejected_batch")  an all-or-nothing batch refused
    ├── NotFound                   (404, "not_found")
    ├── Conflict                   (409, "conflict")        lifecycle or uniqueness clash
    ├── Forbidden                  (403, "forbidden")
    ├── Unauthorized               (401, "unauthorized")    no or unknown API token
    ├── TooLarge                   (413, "too_large")       a body or batch over its limit
    ├── RateLimited                (429, "rate_limited")    a token over its request rate
    ├── StoreError                 (503, "store")           database unreachable/failed
    │   └── WorkspaceError         (400, "workspace")       no workspace / wrong schema
    ├── StreamError                (503, "stream")          NATS unreachable or refusing
    ├── LinkDown                   (503, "link_down")       a field device's server did not answer
    └── IntegrityError             (409, "integrity")       ledger or proof check failed

Each class carries its HTTP status and a stable machine ``code``; ``message`` is
safe to show a user, ``errors`` lists per-record problems where there are any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

__all__ = [
    "AgreementError",
    "Conflict",
    "Forbidden",
    "InputError",
    "IntegrityError",
    "LinkDown",
    "NotFound",
    "Problem",
    "RateLimited",
    "RejectedBatch",
    "SignatureError",
    "StoreError",
    "StreamError",
    "TooLarge",
    "TrucelineError",
    "Unauthorized",
    "WorkspaceError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One rejected record or field: where it is and why it was refused."""

    reason: str
    file: str | None = None
    line: int | None = None  # 1-based line, row or feature number
    field: str | None = None
    record: str | None = None  # record id where the input gives one

    def where(self) -> str:
        parts = [p for p in (self.file, None if self.line is None else f"line {self.line}") if p]
        if self.record:
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.reason}" if where else self.reason

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class TrucelineError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, errors: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": False,
            "error": self.message,
            "code": self.code,
            "status": self.status,
            "errors": [p.to_dict() for p in self.errors],
        }


class InputError(TrucelineError):
    status = 422
    code = "invalid_input"


class AgreementError(InputError):
    code = "invalid_agreement"


class SignatureError(InputError):
    code = "bad_signature"


class RejectedBatch(InputError):
    code = "rejected_batch"


class NotFound(TrucelineError):
    status = 404
    code = "not_found"


class Conflict(TrucelineError):
    status = 409
    code = "conflict"


class Forbidden(TrucelineError):
    status = 403
    code = "forbidden"


class Unauthorized(TrucelineError):
    status = 401
    code = "unauthorized"


class TooLarge(TrucelineError):
    status = 413
    code = "too_large"


class RateLimited(TrucelineError):
    status = 429
    code = "rate_limited"


class StoreError(TrucelineError):
    status = 503
    code = "store"


class LinkDown(TrucelineError):
    status = 503
    code = "link_down"


class WorkspaceError(StoreError):
    status = 400
    code = "workspace"


class StreamError(TrucelineError):
    status = 503
    code = "stream"


class IntegrityError(TrucelineError):
    status = 409
    code = "integrity"
