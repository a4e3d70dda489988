"""The ledger, keys and witness commands end to end on a real workspace (SQLite file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from truceline.cli import app
from truceline.ledger.merkle import verify_inclusion
from truceline.service.ingest import ingest_files
from truceline.service.sources import ensure_sources
from truceline.service.workspace import Workspace

DATA = Path(__file__).parent / "data"


def _calls(ws: Workspace, k: int, tag: str = "c") -> None:
    """``k`` hotline calls logged through the service: entries the store backs."""
    from truceline.service.deconfliction_replies import hotline

    for i in range(k):
        hotline(ws, "duty officer", f"{tag}{i}", now=1_800_000_000 + i)


def _ok(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.output


def _fails(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 1, res.output
    return str(res.exception.message) + "\n".join(map(str, res.exception.errors))  # type: ignore[union-attr]


@pytest.fixture
def ws(sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    assert sqlite_workspace.root is not None
    monkeypatch.chdir(sqlite_workspace.root)
    with sqlite_workspace.engine.begin() as conn:  # the files' sensors, registered first
        ensure_sources(conn, [("mon-01", "monitor"), ("cam-07", "camera"), ("ac-03", "acoustic")])
    ingest_files(sqlite_workspace, [DATA / "mixed_native.csv", DATA / "mixed.jsonl"])
    return sqlite_workspace


def test_heads_witness_cosign_and_proofs(ws: Workspace) -> None:
    _ok("keys", "init")
    Path("mission.pub").write_text(_ok("keys", "show"))
    _ok("ledger", "head", "--out", "H1.json")
    h1 = json.loads(Path("H1.json").read_text())
    wkey = _ok(
        "witness", "init", "--name", "guarantor.example/w1", "--key-out", "w1.key",
        "--state", "wstate", "--log-key", "mission.pub",
    ).strip()  # fmt: skip
    assert wkey.startswith("guarantor.example/w1+")
    _ok("witness", "check", "H1.json", "--state", "wstate", "--out", "C1.json")
    assert "1 cosignature" in _ok("ledger", "cosign-add", "C1.json")
    _calls(ws, 5)
    _ok("ledger", "head", "--out", "H2.json")
    h2 = json.loads(Path("H2.json").read_text())
    assert h2["size"] == h1["size"] + 5
    _ok("ledger", "consistency", str(h1["size"]), str(h2["size"]), "--out", "P.json")
    _ok("witness", "check", "H2.json", "--state", "wstate", "--proof", "P.json", "--out", "C2.json")
    _ok("ledger", "cosign-add", "C2.json")
    # a second witness computes the proof itself from an exported bundle
    _ok("witness", "init", "--name", "party.example/w2", "--key-out", "w2.key",
        "--state", "w2state", "--log-key", "mission.pub")  # fmt: skip
    _ok("witness", "check", "H1.json", "--state", "w2state")
    _ok("ledger", "export", "--out", "b.jsonl")
    out = _ok("witness", "check", "H2.json", "--state", "w2state", "--bundle", "b.jsonl")
    assert f'"previous_size": {h1["size"]}' in out
    lines = Path("b.jsonl").read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("intake", "forged")  # the bundle, not the workspace, is used
    Path("bad.jsonl").write_text("".join(lines))
    _ok("witness", "init", "--name", "party.example/w3", "--key-out", "w3.key",
        "--state", "w3state", "--log-key", "mission.pub")  # fmt: skip
    _ok("witness", "check", "H1.json", "--state", "w3state")
    assert "split view" in _fails(
        "witness", "check", "H2.json", "--state", "w3state", "--bundle", "bad.jsonl"
    )
    latest = json.loads(_ok("ledger", "head"))
    assert latest["cosigners"] == [wkey] and wkey.split("+")[0] in latest["checkpoint"]
    # the witness now refuses a head that rewrites what it saw
    bad = dict(h2, checkpoint=h1["checkpoint"].replace(str(h1["size"]), str(h2["size"]), 1))
    Path("BAD.json").write_text(json.dumps(bad))
    assert "signature" in _fails("witness", "check", "BAD.json", "--state", "wstate")
    doc = json.loads(_ok("ledger", "prove", "3", "--size", str(h2["size"])))
    assert verify_inclusion(
        3,
        h2["size"],
        bytes.fromhex(doc["leaf_hash"]),
        [bytes.fromhex(p) for p in doc["proof"]],
        bytes.fromhex(h2["root_hash"]),
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_export_and_offline_verify_name_each_change(ws: Workspace, tmp_path: Path) -> None:
    _ok("ledger", "export", "--out", "kept.jsonl")
    _ok("ledger", "head", "--out", "HEAD.json")
    pub = _ok("keys", "show").strip()
    assert "OK: " in _ok("ledger", "verify", "kept.jsonl", "--head", "HEAD.json", "--key", pub)
    lines = _lines(Path("kept.jsonl"))  # header + entries 0..n-1 on lines 1..n

    def verify(name: str, new: list[str], *extra: str) -> str:
        Path(name).write_text("".join(new))
        return _fails("ledger", "verify", name, "--head", "HEAD.json", "--key", pub, *extra)

    modified = list(lines)
    first = next(i for i, line in enumerate(lines) if '"kind": "observation"' in line)
    modified[first] = modified[first].replace('\\"count\\":', '\\"count\\":7')
    assert f"modified: entry {first - 1} (observation)" in verify("m.jsonl", modified)
    deleted = lines[:3] + lines[4:]
    assert "deleted: entry 2" in verify("d.jsonl", deleted)
    swapped = lines[:2] + [lines[3], lines[2]] + lines[4:]
    assert "reordered: entry 2" in verify("s.jsonl", swapped)
    # renumbered, re-hashed entries: only a bundle kept earlier can name them
    e2, e3 = json.loads(lines[3]), json.loads(lines[4])
    e2["idx"], e3["idx"] = 3, 2
    relabel = lines[:3] + [json.dumps(e3) + "\n", json.dumps(e2) + "\n"] + lines[5:]
    out = verify("r.jsonl", relabel, "--previous", "kept.jsonl")
    assert "reordered: entry 2" in out and "reordered: entry 3" in out
    assert "do not hash to the signed root" in verify("r2.jsonl", relabel)
    wrong = "truceline.local/log+00000000+" + pub.split("+")[2]
    res = CliRunner().invoke(app, ["ledger", "verify", "kept.jsonl", "--head", "HEAD.json",
                                   "--key", wrong])  # fmt: skip
    assert res.exit_code == 1


def test_verify_store_command(ws: Workspace) -> None:
    assert "OK:" in _ok("ledger", "verify-store")
    with ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sources SET independence_group = 'forged'"))
    out = _fails("ledger", "verify-store")
    assert "sources row" in out and "independence_group" in out


def test_ledger_outputs_need_force_and_never_overwrite_the_store(ws: Workspace) -> None:
    _ok("keys", "init")
    Path("mission.pub").write_text(_ok("keys", "show"))
    _ok("witness", "init", "--name", "g.example/w", "--key-out", "w.key", "--state", "wst",
        "--log-key", "mission.pub")  # fmt: skip
    _ok("ledger", "head", "--out", "HEAD.json")
    _ok("witness", "check", "HEAD.json", "--state", "wst")
    size = str(json.loads(Path("HEAD.json").read_text())["size"])
    commands = [
        ["ledger", "head"],
        ["ledger", "prove", "0"],
        ["ledger", "consistency", "1", size],
        ["ledger", "export"],
        ["witness", "check", "HEAD.json", "--state", "wst"],
    ]
    assert ws.engine.url.database is not None
    store = Path(ws.engine.url.database)
    for i, cmd in enumerate(commands):
        before = store.read_bytes()
        kept = Path(f"kept{i}.json")
        kept.write_text("keep me\n")
        assert "--force" in _fails(*cmd, "--out", str(kept)), cmd
        assert kept.read_text() == "keep me\n", cmd
        for target in (store.name, str(store)):
            assert "workspace's database" in _fails(*cmd, "--out", target, "--force"), cmd
        assert store.read_bytes() == before, cmd
        _ok(*cmd, "--out", str(kept), "--force")
        assert kept.read_text() != "keep me\n", cmd
        assert kept.read_text().startswith("{"), cmd
