"""A field device: its own key, signed observations kept offline, a sync that survives
a link that drops and a server that goes down mid-sync, delivering each record once."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from truceline.domain.errors import Conflict, InputError
from truceline.domain.observations import observation_record
from truceline.ledger.signatures import verify_record
from truceline.service.field import import_field_file, init_device, record, sync
from truceline.service.workspace import Workspace
from truceline.store.outbox import open_outbox
from truceline.store.schema import observations

FIELDS = {"kind": "explosion", "lon": 37.8, "lat": 48.1, "radius_m": 400.0, "count": 2,
          "credibility": 2, "t_unc_s": 60.0}  # fmt: skip


def _at(i: int) -> str:
    return f"2026-01-15T{8 + i // 60:02d}:{i % 60:02d}:00Z"


def test_device_signs_what_it_records_and_imports(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    info = init_device(dev, "mon-07", "monitor")
    assert (dev / "device.key").stat().st_mode & 0o077 == 0  # the private key is the device's
    with pytest.raises(Conflict):
        init_device(dev, "mon-07", "monitor")  # a device keeps its key
    record(dev, {**FIELDS, "t": _at(0)})
    csv = tmp_path / "made-in-the-field.csv"
    rows = [f"{_at(1)},37.81,48.11,300,burst,5,2", f"{_at(2)},37.82,48.12,300,shot,1,3"]
    csv.write_text("t,lon,lat,radius_m,kind,count,credibility\n" + "\n".join(rows) + "\n")
    assert import_field_file(dev, csv) == 2
    box = open_outbox(dev)
    pending = box.pending(10)
    assert len(pending) == 3 and box.counts() == {"pending": 3}
    pub = base64.b64decode(info.public_key_b64)
    for _seq, rec in pending:
        assert rec["source_id"] == "mon-07" and isinstance(rec["t"], int)
        assert verify_record(pub, observation_record(rec), rec["signature"]) is None
    bad = tmp_path / "bad.csv"
    bad.write_text("t,lon,lat,kind\n2026-01-15T08:00:00Z,200,48,explosion\n")
    with pytest.raises(InputError):
        import_field_file(dev, bad)
    assert box.counts() == {"pending": 3}  # all or nothing


class _Link(httpx.BaseTransport):
    """The real HTTP transport, on a link that loses one answer and then goes down."""

    def __init__(self, lose_answer_of: int, server_down_before: int, cut: Callable[[], None]):
        self.inner = httpx.HTTPTransport()
        self.n = 0
        self.lose, self.down, self.cut = lose_answer_of, server_down_before, cut

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.n += 1
        if self.n == self.down:
            self.cut()  # the server goes down before this request reaches it
        response = self.inner.handle_request(request)
        if self.n == self.lose:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the server answered")
        return response

    def close(self) -> None:
        self.inner.close()


def test_sync_delivers_every_record_once_across_a_cut(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    serve: Callable[..., tuple[str, Callable[[], None]]],
) -> None:
    from truceline.field.uplink import HttpUplink
    from truceline.service.sources import register_source
    from truceline.service.users import add_user

    dev = tmp_path / "dev"
    info = init_device(dev, "mon-07", "monitor")
    register_source(sqlite_workspace, "mon-07", "monitor", signature_policy="required",
                    public_key=info.public_key_b64, actor="hq")  # fmt: skip
    token = add_user(sqlite_workspace, "mon-07-device", "monitor").token
    for i in range(30):
        record(dev, {**FIELDS, "t": _at(i)})

    url, stop = serve(sqlite_workspace)
    lossy = HttpUplink(
        url, token, transport=_Link(lose_answer_of=2, server_down_before=0, cut=stop)
    )
    first = sync(dev, url, token, batch=5, uplink=lossy)
    lossy.close()
    assert first.link_down and (first.sent, first.pending) == (5, 25)  # 2nd answer lost
    cut = HttpUplink(url, token, transport=_Link(lose_answer_of=0, server_down_before=3, cut=stop))
    second = sync(dev, url, token, batch=5, uplink=cut)
    cut.close()
    assert second.link_down and (second.sent, second.pending) == (10, 15)  # server went down
    assert second.duplicates == 5  # the batch whose answer was lost had been stored, once
    url, _stop = serve(sqlite_workspace)  # the server is back, on another port
    third = sync(dev, url, token, batch=5)
    again = sync(dev, url, token, batch=5)
    assert third.link_down is None and (third.sent, third.pending) == (15, 0)
    assert again.sent == 0
    with sqlite_workspace.engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).where(observations.c.source_id == "mon-07")
        ).scalar_one()
        signed = conn.execute(
            select(func.count()).where(observations.c.signature.is_not(None))
        ).scalar_one()
    assert stored == signed == 30  # every record once, with its device signature
    assert open_outbox(dev).counts() == {"sent": 30}
