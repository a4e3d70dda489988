"""Who is calling, and may they: bearer tokens, roles, a rate limit per token.

Access is denied by default. Every route declares the roles that may call it
with :func:`allow` (as a parameter, ``user: User = allow(Role.ANALYST)``, or in
``dependencies=[allow(...)]``); :func:`check_every_route_guarded` refuses to
build an app holding a route that declares none. A request without a token is
the ``public`` role; a token names a user of ``truceline users``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from truceline.domain.errors import Forbidden, RateLimited, Unauthorized
from truceline.service.users import Role, User, authenticate, hash_token
from truceline.service.workspace import Workspace

__all__ = [
    "ANYONE",
    "Guard",
    "RateLimiter",
    "allow",
    "check_every_route_guarded",
    "new_token_cache",
    "route_roles",
    "workspace",
]

#: every role, the anonymous public included
ANYONE = frozenset(Role)
_PUBLIC = User("anonymous", Role.PUBLIC)
_bearer = HTTPBearer(auto_error=False, description="an API token from `truceline users add`")
_CACHE_S = 5.0  # a revoked token is refused within this many seconds


async def workspace(request: Request) -> Workspace:
    """The workspace the app serves (a FastAPI dependency; async: it never blocks, so
    it costs no hop to a worker thread)."""
    ws: Workspace = request.app.state.ws
    return ws


class RateLimiter:
    """A token bucket per caller: ``rate`` requests a second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (float(self.burst), now))
            level = min(float(self.burst), level + (now - last) * self.rate)
            if level < 1.0:
                self._buckets[key] = (level, now)
                raise RateLimited(
                    f"more than {self.rate:g} requests a second (bursts of {self.burst}) "
                    "for this token: slow down and retry"
                )
            self._buckets[key] = (level - 1.0, now)


@dataclass(slots=True)
class _Tokens:
    """Recently checked tokens, so that a busy client costs one lookup every few seconds."""

    seen: dict[str, tuple[User, float]]
    lock: threading.Lock

    def cached(self, token: str) -> User | None:
        """The token's user if it was checked less than a few seconds ago."""
        with self.lock:
            hit = self.seen.get(hash_token(token))
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def user(self, ws: Workspace, token: str) -> User:
        """The token's user, looked up in the store unless recently checked (blocks)."""
        key = hash_token(token)
        now = time.monotonic()
        with self.lock:
            hit = self.seen.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            user = authenticate(ws, token)
        except Forbidden as exc:
            raise Unauthorized(exc.message) from None
        with self.lock:
            if len(self.seen) > 10_000:
                self.seen.clear()
            self.seen[key] = (user, now + _CACHE_S)
        return user


class Guard:
    """The dependency :func:`allow` makes: authenticates, rate-limits, checks the role."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = frozenset(roles)

    async def __call__(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> User:
        state = request.app.state
        if credentials is None:
            user, key = _PUBLIC, f"ip:{request.client.host if request.client else '-'}"
        else:
            tokens: _Tokens = state.tokens
            key = credentials.credentials
            found = tokens.cached(key)  # a busy client's token: no store, no worker thread
            user = (
                found if found is not None else await run_in_threadpool(tokens.user, state.ws, key)
            )
        limiter: RateLimiter = state.limiter
        limiter.hit(hash_token(key))
        if user.role not in self.roles:
            if credentials is None:
                raise Unauthorized("this needs an API token: send 'Authorization: Bearer TOKEN'")
            raise Forbidden(f"the {user.role.value} role may not do this")
        request.state.user = user
        return user


def allow(*roles: Role) -> Any:
    """Declare the roles that may call a route (everyone else gets 401/403)."""
    if not roles:
        raise ValueError("allow() needs at least one role")
    return Depends(Guard(roles))


def new_token_cache() -> _Tokens:
    return _Tokens({}, threading.Lock())


def _guards_in(deps: Iterable[Any]) -> list[Guard]:
    found: list[Guard] = []
    stack = list(deps)
    while stack:
        dep = stack.pop()
        call = getattr(dep, "call", None) or getattr(dep, "dependency", None)
        if isinstance(call, Guard):
            found.append(call)
        stack.extend(getattr(dep, "dependencies", ()) or ())
    return found


def _walk(routes: Iterable[Any], prefix: str, outer: list[Guard]) -> Iterator[_Endpoint]:
    """Every API route with its full path and guards, through included routers.

    FastAPI may keep an included router as one lazy entry; its routes are read
    from the router itself, with the include's prefix and dependencies.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            yield _Endpoint(
                prefix + route.path, route, [*outer, *_guards_in(route.dependant.dependencies)]
            )
        elif (inner := getattr(route, "original_router", None)) is not None:
            ctx = route.include_context
            yield from _walk(
                inner.routes, prefix + ctx.prefix, [*outer, *_guards_in(ctx.dependencies)]
            )


@dataclass(frozen=True, slots=True)
class _Endpoint:
    path: str
    route: APIRoute
    guards: list[Guard]


def route_roles(app: FastAPI) -> dict[tuple[str, str], frozenset[Role]]:
    """``(method, path) -> roles`` of every API route (a route without a guard: none)."""
    out: dict[tuple[str, str], frozenset[Role]] = {}
    for ep in _walk(app.router.routes, "", []):
        roles = frozenset.intersection(*(g.roles for g in ep.guards)) if ep.guards else frozenset()
        for method in ep.route.methods or ():
            out[(method, ep.path)] = roles
    return out


def check_every_route_guarded(app: FastAPI) -> None:
    """Refuse an app with a route that declares no roles (deny by default)."""
    missing = [f"{m} {p}" for (m, p), roles in route_roles(app).items() if not roles]
    if missing:
        raise RuntimeError(f"routes without allow(...): {', '.join(sorted(missing))}")
