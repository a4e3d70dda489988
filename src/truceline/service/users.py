"""API users: who may call the HTTP API, in which role, with which token.

A token is shown once, when the user is added, and only its SHA-256 is stored:
a copy of the database does not let anyone call the API. Roles are those of
DESIGN.md; a party liaison (role ``party``) is bound to one party, and a
monitor's or a sensor's user may be bound to its registered source: it then
submits only as that source and lists that source's submissions as its own.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from truceline.domain.errors import Conflict, Forbidden, InputError, NotFound
from truceline.service.workspace import Workspace
from truceline.store import users as store
from truceline.store.db import Connection, reading, store_errors
from truceline.store.source_owners import source_owners

__all__ = [
    "SUBMIT_TYPES",
    "IssuedToken",
    "Role",
    "User",
    "add_user",
    "authenticate",
    "hash_token",
    "list_users",
    "revoke_user",
]

_TOKEN_PREFIX = "tl_"
_MAX_TOKEN = 200


class Role(StrEnum):
    MONITOR = "monitor"
    SENSOR = "sensor"
    ANALYST = "analyst"
    PARTY = "party"
    GUARANTOR = "guarantor"
    PUBLIC = "public"


#: the source types a role submits as (a role absent here: any type)
SUBMIT_TYPES: dict[Role, frozenset[str]] = {
    Role.MONITOR: frozenset({"monitor"}),
    Role.SENSOR: frozenset({"camera", "acoustic", "uav"}),
    Role.PARTY: frozenset({"party"}),
}


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    party: str | None = None
    source: str | None = None

    @property
    def actor(self) -> str:
        """How the user appears as the actor of a change it makes."""
        return f"api:{self.name}"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    user: User
    token: str  # shown once


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check(name: str, role: str, party: str | None) -> Role:
    if not name.strip() or len(name) > 100 or any(c.isspace() for c in name):
        raise InputError(f"user name {name!r}: 1-100 characters without spaces")
    try:
        r = Role(role)
    except ValueError:
        raise InputError(f"role {role!r} is not one of {', '.join(Role)}") from None
    if r is Role.PARTY and not (party and party.strip()):
        raise InputError("a party liaison needs --party")
    if r is not Role.PARTY and party is not None:
        raise InputError(f"--party is only for the party role, not {r.value}")
    if party is not None and len(party) > 20:
        raise InputError(f"party {party!r}: at most 20 characters")
    return r


def _check_source(conn: Connection, role: Role, source: str) -> None:
    """A user's source is registered and of a type its role submits as."""
    if role not in (Role.MONITOR, Role.SENSOR):
        raise InputError(f"--source is only for the monitor and sensor roles, not {role.value}")
    known = source_owners(conn, [source]).get(source)
    if known is None:
        raise NotFound(f"no source {source!r}: register it first (truceline sources add)")
    if known[0] not in SUBMIT_TYPES[role]:
        allowed = ", ".join(sorted(SUBMIT_TYPES[role]))
        raise InputError(f"source {source!r} is a {known[0]}; a {role.value} submits as {allowed}")


def add_user(
    ws: Workspace, name: str, role: str, party: str | None = None, source: str | None = None
) -> IssuedToken:
    """Add a user and issue its token (returned once; only its hash is kept)."""
    r = _check(name, role, party)
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store_errors("adding a user"), ws.engine.begin() as conn:
        if source is not None:
            _check_source(conn, r, source)
        if store.find_by_name(conn, name) is not None:
            raise Conflict(f"user {name!r} already exists")
        store.insert_user(conn, name, r.value, party, hash_token(token), int(time.time()), source)
    return IssuedToken(User(name, r, party, source), token)


def authenticate(ws: Workspace, token: str) -> User:
    """The user a bearer token belongs to; ``Forbidden`` for an unknown or revoked one."""
    if not token or len(token) > _MAX_TOKEN:
        raise Forbidden("unknown API token")
    with reading(ws.engine, "checking an API token") as conn:
        row = store.find_by_token_hash(conn, hash_token(token))
    if row is None or row.revoked_at is not None:
        raise Forbidden("unknown or revoked API token")
    return User(row.name, Role(row.role), row.party, row.source)


def list_users(ws: Workspace) -> list[store.UserRow]:
    with reading(ws.engine, "listing users") as conn:
        return store.list_users(conn)


def revoke_user(ws: Workspace, name: str) -> None:
    """Revoke a user's token; its requests are refused from now on."""
    with store_errors("revoking a user"), ws.engine.begin() as conn:
        if not store.revoke_user(conn, name, int(time.time())):
            raise NotFound(f"no active user {name!r}")
