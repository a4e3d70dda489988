"""Calendar periods (UTC months) and date parsing for terms and declarations."""

from __future__ import annotations

from datetime import UTC, date, datetime

from truceline.domain.errors import InputError

__all__ = ["month_label", "month_of", "months_between", "parse_month", "to_epoch"]


_LAST = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp())


def to_epoch(value: object, what: str = "date") -> int:
    """Epoch seconds from an int, an ISO date (midnight UTC) or an ISO datetime."""
    if isinstance(value, bool):
        raise InputError(f"{what}: expected a date, got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    text = str(value).strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{what}: {text!r} is not an ISO date (YYYY-MM-DD)") from exc
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())


def parse_month(text: str, what: str = "period") -> tuple[int, int]:
    """``YYYY-MM`` -> (start, end) epoch seconds of that UTC month (end exclusive)."""
    try:
        y, m = (int(p) for p in text.strip().split("-"))
        start = datetime(y, m, 1, tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"{what}: {text!r} is not a month (YYYY-MM)") from exc
    return int(start.timestamp()), _next_month(int(start.timestamp()))


def _next_month(t: int) -> int:
    d = datetime.fromtimestamp(t, UTC)
    y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return int(datetime(y, m, 1, tzinfo=UTC).timestamp())


def month_of(t: int) -> tuple[int, int]:
    """The UTC month holding ``t``."""
    d = datetime.fromtimestamp(t, UTC)
    start = int(datetime(d.year, d.month, 1, tzinfo=UTC).timestamp())
    return start, _next_month(start)


def months_between(t0: int, t1: int) -> list[tuple[int, int]]:
    """The UTC months that end inside [t0, t1], starting with the one holding t0."""
    out: list[tuple[int, int]] = []
    t1 = min(t1, _LAST)
    start, end = month_of(t0)
    while end <= t1:
        out.append((start, end))
        start, end = end, _next_month(end)
    return out


def month_label(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m")
