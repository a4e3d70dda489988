"""One writer per app: submissions wait in a queue and are stored together.

Request threads hand their records to :class:`GroupWriter` and wait; its
thread takes everything queued (up to ``max_records``) and stores it in one
transaction (``service.submissions.ingest_groups``), then answers each waiter
with its own report. Concurrent single submissions so share one parse, one
ledger append and one commit, and writers never queue on the database's lock.
A waiter is answered only after the commit.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from truceline.domain.errors import StoreError
from truceline.service.ingest import FileReport
from truceline.service.submissions import Submitter, ingest_groups
from truceline.service.workspace import Workspace

__all__ = ["GroupWriter"]


@dataclass(slots=True)
class _Job:
    records: Sequence[Any]
    who: Submitter
    done: Future[FileReport] = field(default_factory=Future)


def _late(timeout: float) -> StoreError:
    return StoreError(
        f"the store did not answer within {timeout:g} s; resubmitting is safe "
        "(a record is stored once by its client id)"
    )


class GroupWriter:
    """Group commit of API submissions (started on first use, a daemon thread)."""

    def __init__(self, ws: Workspace, max_records: int = 20_000) -> None:
        self.ws, self.max_records = ws, max_records
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, records: Sequence[Any], who: Submitter, timeout: float) -> FileReport:
        """Store ``records`` (with others waiting) and return their report."""
        self._start()
        job = _Job(records, who)
        self._queue.put(job)
        try:
            return job.done.result(timeout)
        except FutureTimeout:
            raise _late(timeout) from None

    async def submit_async(
        self, records: Sequence[Any], who: Submitter, timeout: float
    ) -> FileReport:
        """:meth:`submit` for a coroutine: it waits on the event loop, not in a thread."""
        self._start()
        job = _Job(records, who)
        self._queue.put(job)
        try:  # shielded: a caller that gives up never cancels the job the writer holds
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job.done)), timeout)
        except TimeoutError:
            raise _late(timeout) from None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="truceline-writer", daemon=True
                )
                self._thread.start()

    def _take(self) -> list[_Job]:
        jobs = [self._queue.get()]
        n = len(jobs[0].records)
        while n < self.max_records:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            jobs.append(job)
            n += len(job.records)
        return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            try:
                reports = ingest_groups(self.ws, [(j.records, j.who) for j in jobs])
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter
                for j in jobs:
                    j.done.set_exception(exc)
                continue
            for j, rep in zip(jobs, reports, strict=True):
                j.done.set_result(rep)
