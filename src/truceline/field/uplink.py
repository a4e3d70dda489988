"""The link to the mission's server: one call, ``send(records)``, that returns the
server's answer for a batch or raises ``LinkDown`` when there is no answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from truceline.domain.errors import InputError, LinkDown

__all__ = ["BatchAnswer", "HttpUplink", "Uplink"]


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    accepted: int
    duplicates: int
    #: 1-based place in the batch -> reason, for the records the server refused
    refused: dict[int, str]


class Uplink(Protocol):
    def send(self, records: Sequence[dict[str, Any]]) -> BatchAnswer: ...


class HttpUplink:
    """``POST URL/observations/batch`` with the device user's API token."""

    def __init__(self, url: str, token: str, timeout_s: float = 30.0, transport: Any = None):
        import httpx

        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )

    def send(self, records: Sequence[dict[str, Any]]) -> BatchAnswer:
        import httpx

        try:
            r = self._client.post("/observations/batch", json={"observations": list(records)})
        except httpx.HTTPError as exc:
            raise LinkDown(f"no answer from the server: {exc}") from exc
        if r.status_code >= 500:
            raise LinkDown(f"the server answered {r.status_code}: try again later")
        doc = r.json()
        if r.status_code >= 400:
            raise InputError(f"the server refused the batch ({r.status_code}): {doc.get('detail')}")
        problems = doc.get("problems", [])
        refused = {int(p["line"]): str(p["reason"]) for p in problems if p.get("line")}
        return BatchAnswer(int(doc.get("accepted", 0)), int(doc.get("duplicates", 0)), refused)

    def close(self) -> None:
        self._client.close()
