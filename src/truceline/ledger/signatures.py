"""Ed25519 signatures of submissions: a source signs the canonical bytes of its record.

Signing uses ``cryptography``; checking uses libsodium through PyNaCl (the same
RFC 8032 signatures, verified in about half the time of OpenSSL's, and with the GIL
released). A batch is checked on a few threads (:func:`verify_many`) while the
caller gets on with the rest of its work; in a server, in as many processes
(:func:`start_verifiers`). libsodium releases the GIL for one signature at a time,
and a thread that wants it back while another thread runs Python waits up to the
interpreter's switch interval (5 ms) for each 45 µs check: 4,000 signatures on two
threads took 1.14 s beside one busy Python thread against 0.45 s alone, and 0.65 s
in two processes (load 7, 2 cores). A server's group writer runs Python while the
next batches are checked, so it checks them in processes, from a fork server (not
forked from the server's threads); handing over 1,000 signatures and taking back the
verdicts costs the server about 1 µs a signature. Processes are for a server only:
a script that starts them must guard its main module (``multiprocessing``'s rule).

A verdict depends on nothing but the key, the signed bytes and the signature, so one
reached early (an API batch is checked as its request arrives, before it waits for
its turn to be stored) can stand in for the check made later in the storing
transaction: within :func:`reusing`, :func:`verify_many` takes the verdict of the
:class:`Verdicts` given for a signature checked before over the same bytes against
the same key, and checks anything else. A key rotated in between makes another
triple, so the signature is checked again against the key read in the transaction.
"""

from __future__ import annotations

import base64
import binascii
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from truceline.ledger.canonical import canonical_bytes

__all__ = [
    "VERIFIERS",
    "PendingChecks",
    "Verdicts",
    "reusing",
    "sign_record",
    "start_verifiers",
    "verify_many",
    "verify_record",
]

#: threads, or processes, that check a batch's signatures (one a core, at most 4)
VERIFIERS = max(1, min(4, os.cpu_count() or 1))
#: below this many signatures a batch is checked on the caller's thread (handing work
#: to a thread or a process and back costs more than a few checks)
_INLINE = 64
_MISMATCH = "signature does not match the record and the source's key"

_threads: ThreadPoolExecutor | None = None
_processes: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()

Checks = tuple[Sequence[bytes], Sequence[bytes], Sequence[str]]  # keys, messages, signatures


def sign_record(private_key: Ed25519PrivateKey, record: Mapping[str, Any]) -> str:
    """Base64 Ed25519 signature over the RFC 8785 bytes of ``record``."""
    return base64.b64encode(private_key.sign(canonical_bytes(record))).decode("ascii")


def _check(public_key: bytes, message: bytes, signature: str) -> str | None:
    try:
        sig = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return "signature is not valid base64"
    if len(sig) != 64:
        return f"signature must be 64 bytes, got {len(sig)}"
    try:
        crypto_sign_open(sig + message, public_key)
    except (CryptoError, ValueError, TypeError):  # a key that is no curve point too
        return _MISMATCH
    return None


def verify_record(public_key: bytes, record: Mapping[str, Any], signature: str) -> str | None:
    """None when ``signature`` is ``record``'s by ``public_key``, else the reason it is not."""
    return _check(public_key, canonical_bytes(record), signature)


def _checks(
    keys: Sequence[bytes], messages: Sequence[bytes], signatures: Sequence[str]
) -> list[str | None]:
    return [_check(k, m, s) for k, m, s in zip(keys, messages, signatures, strict=True)]


class PendingChecks:
    """Signature checks under way; :meth:`reasons` waits for them."""

    def __init__(
        self,
        keys: Sequence[bytes],
        messages: Sequence[bytes],
        signatures: Sequence[str],
        parts: list[tuple[Future[list[str | None]], Checks]],
        taken: tuple[list[str | None], list[int]] | None = None,
    ) -> None:
        """``parts``: the reasons of the signatures being checked, in order; ``taken``:
        the reasons of all, known before for some, and the places of those checked now."""
        self.keys, self.messages, self.signatures = keys, messages, signatures
        self._parts, self._taken = parts, taken
        #: verdicts taken from checks made before (not made again)
        self.reused = 0 if taken is None else len(signatures) - len(taken[1])

    def done(self) -> bool:
        """Whether every check has finished (then :meth:`reasons` does not wait)."""
        return all(part.done() for part, _ in self._parts)

    def wait(self) -> None:
        wait_all([part for part, _ in self._parts])

    def reasons(self) -> list[str | None]:
        """For each signature, None when it holds, else why not (in the order given)."""
        checked = [r for part, checks in self._parts for r in _result(part, checks)]
        if self._taken is None:
            return checked
        reasons, places = self._taken
        out = list(reasons)
        for i, reason in zip(places, checked, strict=True):
            out[i] = reason
        return out


class Verdicts:
    """Finished checks, by signature: what :func:`reusing` lets :func:`verify_many` take
    instead of checking again the same signature over the same bytes and key."""

    def __init__(self, checks: Iterable[PendingChecks] = ()) -> None:
        self._by_signature: dict[str, tuple[bytes, bytes, str | None]] = {}
        for c in checks:
            found = zip(c.signatures, c.keys, c.messages, c.reasons(), strict=True)
            self._by_signature.update((s, (k, m, r)) for s, k, m, r in found)

    def __len__(self) -> int:
        return len(self._by_signature)

    def known(self, key: bytes, message: bytes, signature: str) -> tuple[bool, str | None]:
        """``(True, reason)`` when this very check was made, else ``(False, None)``."""
        hit = self._by_signature.get(signature)
        if hit is None or hit[0] != key or hit[1] != message:
            return False, None
        return True, hit[2]


_REUSABLE: ContextVar[Verdicts | None] = ContextVar("truceline_verdicts", default=None)


@contextmanager
def reusing(verdicts: Verdicts) -> Iterator[None]:
    """Within this block (on this thread), :func:`verify_many` takes ``verdicts`` for the
    checks they hold instead of making them again."""
    token = _REUSABLE.set(verdicts)
    try:
        yield
    finally:
        _REUSABLE.reset(token)


def _executor() -> Executor:
    global _threads
    with _pool_lock:
        if _processes is not None:
            return _processes
        if _threads is None:
            _threads = ThreadPoolExecutor(VERIFIERS, thread_name_prefix="truceline-verify")
        return _threads


def start_verifiers() -> None:
    """Check batches in :data:`VERIFIERS` processes from now on, started now (by a server,
    before it takes requests)."""
    global _processes
    if VERIFIERS == 1:
        return
    with _pool_lock:
        if _processes is None:
            ctx = multiprocessing.get_context("forkserver")
            _processes = ProcessPoolExecutor(
                VERIFIERS, mp_context=ctx, initializer=_end_with, initargs=(os.getpid(),)
            )
        pool = _processes
    # one task each, submitted together: the pool starts a process for each (it starts
    # them as tasks find none idle, and a start costs a process a few hundred ms of CPU)
    wait_all([pool.submit(_checks, [], [], []) for _ in range(VERIFIERS)])


def _end_with(server: int) -> None:
    """In a verification process: end when ``server`` ends, however it ends (uvicorn ends
    on SIGTERM by raising the signal again, past the clean-up that would stop the pool;
    a server may be killed)."""

    def watch() -> None:
        try:
            select.select([os.pidfd_open(server)], [], [])
        except ProcessLookupError:
            pass
        except OSError:  # no pidfd (an old kernel): look every second
            while _alive(server):
                time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="truceline-verify-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _result(part: Future[list[str | None]], checks: Checks) -> list[str | None]:
    try:
        return part.result()
    except BrokenProcessPool:
        return _without_processes(checks)


def _without_processes(checks: Checks) -> list[str | None]:
    """The verdicts made on this thread, a verification process having died (threads
    check the next batches)."""
    global _processes
    with _pool_lock:
        _processes = None
    return _checks(*checks)


def verify_many(
    keys: Sequence[bytes], messages: Sequence[bytes], signatures: Sequence[str]
) -> PendingChecks:
    """Start checking each ``signatures[i]`` over ``messages[i]`` (canonical record bytes)
    against ``keys[i]``: on :data:`VERIFIERS` threads or processes, or at once when there
    are few.
    The reasons are :func:`verify_record`'s. Within :func:`reusing`, a check made before
    (the same key, bytes and signature) is not made again."""
    known = _REUSABLE.get()
    if known is not None and len(known):
        return _verify_rest(known, keys, messages, signatures)
    return PendingChecks(keys, messages, signatures, _start(keys, messages, signatures))


def _start(
    keys: Sequence[bytes], messages: Sequence[bytes], signatures: Sequence[str]
) -> list[tuple[Future[list[str | None]], Checks]]:
    n = len(signatures)
    if n < _INLINE or VERIFIERS == 1:
        done: Future[list[str | None]] = Future()
        done.set_result(_checks(keys, messages, signatures))
        return [(done, (keys, messages, signatures))]
    step = -(-n // VERIFIERS)
    pool = _executor()
    parts = []
    for i in range(0, n, step):
        part = (keys[i : i + step], messages[i : i + step], signatures[i : i + step])
        try:
            future = pool.submit(_checks, *part)
        except BrokenProcessPool:
            future = Future()
            future.set_result(_without_processes(part))
        parts.append((future, part))
    return parts


def _verify_rest(
    known: Verdicts, keys: Sequence[bytes], messages: Sequence[bytes], signatures: Sequence[str]
) -> PendingChecks:
    """:func:`verify_many` that takes the verdicts ``known`` holds and starts checking the
    rest."""
    reasons: list[str | None] = []
    rest: list[int] = []
    for i, (k, m, s) in enumerate(zip(keys, messages, signatures, strict=True)):
        hit, reason = known.known(k, m, s)
        reasons.append(reason)
        if not hit:
            rest.append(i)
    parts = _start([keys[i] for i in rest], [messages[i] for i in rest],
                   [signatures[i] for i in rest])  # fmt: skip
    return PendingChecks(keys, messages, signatures, parts, (reasons, rest))
