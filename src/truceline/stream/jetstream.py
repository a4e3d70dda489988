"""NATS JetStream: publishing observation files, and the worker that stores them.

Subjects: ``<prefix>.<source type>`` on the stream ``<stream>``; refused (poison)
messages go to ``<prefix>_dead.<source type>`` on ``<stream>_DEAD`` with the reason
in the ``Truceline-Reason`` header. Each message carries ``Nats-Msg-Id`` = the
record's idempotency key, so JetStream drops a re-publish within its duplicate
window, and the store drops it after that.

The worker pulls with a durable consumer, one batch of at most ``batch`` messages in
flight at a time, stores it in one transaction through the service and acknowledges it
only after that transaction committed (the acks of a batch, then one flush that the
server answers once it has them). The consumer, shared by every
worker, lets :data:`MAX_WORKERS` batches be in flight at once (``max_ack_pending``): a
cap of one batch would let only one worker hold messages while the others wait. A message the
validation refuses goes to the dead-letter subject at once (it can never succeed); a
batch whose storing fails is negatively acknowledged and retried, and a message
delivered ``max_deliver`` times goes to the dead-letter subject with the last error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from truceline.domain.errors import StoreError, StreamError
from truceline.service.stream import Message, ingest_messages, observation_messages
from truceline.service.workspace import Workspace

__all__ = ["PublishReport", "StreamNames", "WorkerReport", "publish_files", "run_worker"]

_WINDOW = 256  # publishes awaiting their acknowledgement at once
_RETRY_DELAY_S = 1.0
_ACK_TIMEOUT_S = 30.0
#: workers that may each hold a batch of one durable consumer at once
MAX_WORKERS = 64


@dataclass(frozen=True, slots=True)
class StreamNames:
    stream: str = "TRUCELINE_OBSERVATIONS"
    prefix: str = "truceline.observations"

    @property
    def dead_stream(self) -> str:
        return f"{self.stream}_DEAD"

    @property
    def dead_prefix(self) -> str:
        return f"{self.prefix}_dead"


@dataclass(slots=True)
class PublishReport:
    read: int = 0
    published: int = 0
    duplicates: int = 0  # dropped by JetStream's de-duplication
    rejected: int = 0
    problems: int = 0


@dataclass(slots=True)
class WorkerReport:
    batches: int = 0
    acked: int = 0
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    retried: int = 0


async def _connect(url: str) -> Any:
    try:
        return await nats.connect(url, connect_timeout=5, max_reconnect_attempts=3)
    except (OSError, nats.errors.Error) as exc:
        raise StreamError(f"cannot reach NATS at {url}: {exc}") from exc


async def ensure_streams(js: Any, names: StreamNames) -> None:
    """Create the observation and dead-letter streams if they do not exist."""
    for name, prefix in ((names.stream, names.prefix), (names.dead_stream, names.dead_prefix)):
        try:
            await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            await js.add_stream(name=name, subjects=[f"{prefix}.>"], duplicate_window=3600.0)


async def _publish_window(js: Any, names: StreamNames, window: Sequence[Message]) -> list[Any]:
    return list(
        await asyncio.gather(
            *(
                js.publish(
                    f"{names.prefix}.{m.subject}", m.payload, headers={"Nats-Msg-Id": m.msg_id}
                )
                for m in window
            )
        )
    )


async def _publish(url: str, paths: Sequence[Path], fmt: str | None, names: StreamNames) -> Any:
    nc = await _connect(url)
    report = PublishReport()
    try:
        js = nc.jetstream()
        await ensure_streams(js, names)
        for path in paths:
            for batch in observation_messages(path, fmt):
                report.read += batch.read
                report.problems += len(batch.problems)
                report.rejected += batch.read - len(batch.messages)
                for i in range(0, len(batch.messages), _WINDOW):
                    for ack in await _publish_window(js, names, batch.messages[i : i + _WINDOW]):
                        report.published += not ack.duplicate
                        report.duplicates += bool(ack.duplicate)
    except nats.errors.Error as exc:
        raise StreamError(f"publishing to {names.stream}: {exc}") from exc
    finally:
        await nc.close()
    return report


def publish_files(
    url: str, paths: Sequence[Path], fmt: str | None = None, names: StreamNames | None = None
) -> PublishReport:
    """Publish the observations of ``paths``; refused records are counted, not sent."""
    result: PublishReport = asyncio.run(_publish(url, paths, fmt, names or StreamNames()))
    return result


async def _dead(js: Any, names: StreamNames, msg: Any, reason: str) -> None:
    token = msg.subject.rsplit(".", 1)[-1]
    headers = {"Truceline-Reason": reason[:1000], "Truceline-Subject": msg.subject}
    await js.publish(f"{names.dead_prefix}.{token}", msg.data, headers=headers)
    await msg.ack_sync(timeout=_ACK_TIMEOUT_S)


async def _ack_all(nc: Any, msgs: list[Any]) -> int:
    """Acknowledge ``msgs`` and wait until the server has them all: one flush (a round
    trip the server answers after the acks before it), not one reply per message. An
    acknowledgement lost on the way only means a redelivery, which the store drops as a
    duplicate. The count acknowledged (0 if the server did not answer)."""
    if not msgs:
        return 0
    try:
        for m in msgs:
            await m.ack()
        await nc.flush(timeout=_ACK_TIMEOUT_S)
    except (nats.errors.Error, TimeoutError):
        return 0
    return len(msgs)


async def _handle(
    ws: Workspace,
    nc: Any,
    names: StreamNames,
    msgs: list[Any],
    max_deliver: int,
    r: WorkerReport,
) -> None:
    js = nc.jetstream()
    where = f"{names.stream} batch {r.batches}"
    try:
        out = await asyncio.to_thread(ingest_messages, ws, [m.data for m in msgs], where)
    except StoreError as exc:
        for m in msgs:
            if m.metadata.num_delivered >= max_deliver:
                await _dead(js, names, m, f"not stored after {max_deliver} attempts: {exc}")
                r.dead += 1
            else:
                await m.nak(delay=_RETRY_DELAY_S)
                r.retried += 1
        return
    dead = [_dead(js, names, m, out.refused[i]) for i, m in enumerate(msgs) if i in out.refused]
    done = await asyncio.gather(*dead, return_exceptions=True)
    for e in done:
        if isinstance(e, BaseException) and not isinstance(e, nats.errors.Error | TimeoutError):
            raise e
    r.dead += sum(1 for e in done if not isinstance(e, BaseException))
    r.acked += await _ack_all(nc, [m for i, m in enumerate(msgs) if i not in out.refused])
    r.stored += out.accepted
    r.duplicates += out.duplicates


async def _work(
    ws: Workspace,
    url: str,
    names: StreamNames,
    durable: str,
    batch: int,
    max_deliver: int,
    idle_exit_s: float | None,
    ack_wait_s: float,
    on_batch: Callable[[WorkerReport], None] | None,
) -> WorkerReport:
    nc = await _connect(url)
    report = WorkerReport()
    try:
        js = nc.jetstream()
        await ensure_streams(js, names)
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait_s,  # a crashed worker's batch is redelivered after this
            max_deliver=-1,  # the worker itself dead-letters after max_deliver attempts
            max_ack_pending=batch * MAX_WORKERS,  # a batch per worker; see the docstring
        )
        sub = await js.pull_subscribe(
            f"{names.prefix}.>", durable=durable, stream=names.stream, config=config
        )
        idle_since = time.monotonic()
        while idle_exit_s is None or time.monotonic() - idle_since < idle_exit_s:
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            idle_since = time.monotonic()
            report.batches += 1
            await _handle(ws, nc, names, msgs, max_deliver, report)
            if on_batch is not None:
                on_batch(report)
    except nats.errors.Error as exc:
        raise StreamError(f"consuming {names.stream}: {exc}") from exc
    finally:
        await nc.close()
    return report


def run_worker(
    ws: Workspace,
    url: str,
    names: StreamNames | None = None,
    *,
    durable: str = "truceline-worker",
    batch: int = 500,
    max_deliver: int = 5,
    idle_exit_s: float | None = None,
    ack_wait_s: float = 30.0,
    on_batch: Callable[[WorkerReport], None] | None = None,
) -> WorkerReport:
    """Consume the stream into the store until idle for ``idle_exit_s`` (or for ever)."""
    names = names or StreamNames()
    args = (durable, batch, max_deliver, idle_exit_s, ack_wait_s, on_batch)
    coro = _work(ws, url, names, *args)
    result: WorkerReport = asyncio.run(coro)
    return result
