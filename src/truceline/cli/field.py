"""`truceline field`: a monitor's device offline: make the key, record and sign
observations into an outbox, import a CSV made in the field, sync when a link is up."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli._common import console

__all__ = ["register"]

DEVICE = typer.Option(Path("field"), "--device", help="the device folder (key and outbox)")


def register(app: typer.Typer) -> None:
    """Add the ``field`` group to ``app``."""
    field = typer.Typer(help="A field device: signed observations kept offline, synced later.")
    app.add_typer(field, name="field")

    @field.command("init")
    def init(
        source: str = typer.Option(..., "--source", help="the source id the mission registers"),
        kind: str = typer.Option("monitor", "--type", help="monitor, camera, acoustic, uav"),
        device: Path = DEVICE,
    ) -> None:
        """Make the device's Ed25519 key pair and its outbox; print the key to register."""
        from truceline.service.field import init_device

        info = init_device(device, source, kind)
        console.print(f"device {info.source_id} ({info.source_type}) in {device}")
        console.print(f"public key (base64): {info.public_key_b64}")
        console.print(
            f"register it at headquarters: truceline sources add {info.source_id} "
            f"--type {info.source_type} --public-key {info.public_key_file}"
        )

    @field.command("record")
    def record_cmd(
        kind: str = typer.Option(..., "--kind", help="explosion, burst, shot, restriction..."),
        lon: float = typer.Option(..., "--lon"),
        lat: float = typer.Option(..., "--lat"),
        radius_m: float = typer.Option(500.0, "--radius-m", help="95 % location uncertainty"),
        at: str = typer.Option("now", "--at", help="ISO 8601 time with Z or offset, or now"),
        count: int = typer.Option(1, "--count"),
        weapon: str | None = typer.Option(None, "--weapon", help="weapon class"),
        credibility: int = typer.Option(2, "--credibility", help="1 (confirmed) .. 6"),
        note: str | None = typer.Option(None, "--note", help="what was seen, in words"),
        device: Path = DEVICE,
    ) -> None:
        """Sign an observation now and keep it in the outbox."""
        import time

        from truceline.service.field import record

        fields = {"kind": kind, "lon": lon, "lat": lat, "radius_m": radius_m, "count": count,
                  "credibility": credibility, "t_unc_s": 60.0,
                  "t": int(time.time()) if at == "now" else at}  # fmt: skip
        if weapon:
            fields["weapon_class"] = weapon
        if note:
            fields["description"] = note
        console.print(f"kept {record(device, fields)} (signed) in the outbox")

    @field.command("import")
    def import_cmd(path: Path, device: Path = DEVICE) -> None:
        """Sign every row of a native CSV made in the field and keep them (all or none)."""
        from truceline.service.field import import_field_file

        console.print(f"kept {import_field_file(device, path)} signed records from {path}")

    @field.command("sync")
    def sync_cmd(
        to: str = typer.Option(..., "--to", help="the mission's server, e.g. https://hq:8000"),
        token: str = typer.Option(
            ..., "--token", envvar="TRUCELINE_TOKEN", help="the device user's API token"
        ),
        batch: int = typer.Option(200, "--batch", min=1, max=10_000),
        device: Path = DEVICE,
    ) -> None:
        """Deliver the outbox; safe to repeat and to interrupt (nothing twice, nothing lost)."""
        from truceline.service.field import sync

        r = sync(device, to, token, batch=batch)
        console.print(
            f"sent {r.sent}: {r.accepted} stored, {r.duplicates} already on record, "
            f"{r.refused} refused; {r.pending} pending"
        )
        if r.link_down:
            console.print(f"link down: {r.link_down}; run sync again when the link is up")
            raise typer.Exit(2)
