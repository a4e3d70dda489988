"""Pushing alerts to subscribers' webhooks: signed POSTs, retries with backoff.

The :class:`AlertSink` port has one method; :class:`WebhookSink` is the HTTP one
(stdlib ``urllib``), :class:`MemorySink` keeps what it was given (for runs
without a network, and for tests of what was sent).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from truceline.warning.alerts import SIGNATURE_HEADER, sign

__all__ = ["AlertSink", "MemorySink", "SendResult", "WebhookSink"]


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    attempts: int
    error: str | None = None


class AlertSink(Protocol):
    def send(self, url: str, secret: bytes, body: bytes) -> SendResult:
        """Deliver ``body`` to ``url`` signed with ``secret``."""
        ...


@dataclass
class MemorySink:
    """Accepts everything and keeps ``(url, body)`` in order."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def send(self, url: str, secret: bytes, body: bytes) -> SendResult:
        self.sent.append((url, body))
        return SendResult(True, 1)


@dataclass
class WebhookSink:
    """POSTs JSON with the signature header; retries network errors, 429 and 5xx
    answers up to ``max_attempts`` times, waiting ``backoff_s * 2**k`` between tries.
    Any other 4xx answer is final (the receiver refused it)."""

    max_attempts: int = 4
    backoff_s: float = 1.0
    timeout_s: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def _post(self, url: str, secret: bytes, body: bytes) -> tuple[bool, bool, str | None]:
        """(delivered, worth retrying, error)"""
        req = urllib.request.Request(url, data=body, method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header(SIGNATURE_HEADER, sign(secret, int(self.clock()), body))
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                return 200 <= resp.status < 300, False, None
        except urllib.error.HTTPError as exc:
            return False, exc.code == 429 or exc.code >= 500, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return False, True, f"{type(exc).__name__}: {exc}"

    def send(self, url: str, secret: bytes, body: bytes) -> SendResult:
        error: str | None = None
        for attempt in range(1, self.max_attempts + 1):
            ok, retry, error = self._post(url, secret, body)
            if ok:
                return SendResult(True, attempt)
            if not retry or attempt == self.max_attempts:
                return SendResult(False, attempt, error)
            self.sleep(self.backoff_s * 2 ** (attempt - 1))
        return SendResult(False, self.max_attempts, error)
