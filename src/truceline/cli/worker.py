"""``truceline worker``: consume the NATS JetStream stream of observations into the store."""

from __future__ import annotations

import typer

from truceline.cli._common import console, workspace
from truceline.cli.publish import NATS_URL, PREFIX, STREAM

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("worker")(worker)


def worker(
    ctx: typer.Context,
    nats_url: str = NATS_URL,
    stream: str = STREAM,
    prefix: str = PREFIX,
    durable: str = typer.Option("truceline-worker", "--durable", help="durable consumer name"),
    batch: int = typer.Option(
        500, "--batch", min=1, max=1000, help="messages in flight (and per transaction)"
    ),
    max_deliver: int = typer.Option(
        5, "--max-deliver", min=1, help="attempts before a message is dead-lettered"
    ),
    idle_exit: float | None = typer.Option(
        None, "--idle-exit", min=0.0, help="stop after this many seconds without messages"
    ),
    ack_wait: float = typer.Option(
        30.0, "--ack-wait", min=1.0, help="seconds before an unacknowledged batch is redelivered"
    ),
) -> None:
    """Store observations from the stream; acknowledge each only once committed and ledgered."""
    from truceline.stream.jetstream import StreamNames, run_worker

    ws = workspace(ctx)
    report = run_worker(
        ws,
        nats_url,
        StreamNames(stream, prefix),
        durable=durable,
        batch=batch,
        max_deliver=max_deliver,
        idle_exit_s=idle_exit,
        ack_wait_s=ack_wait,
    )
    console.print(
        f"worker: {report.batches} batch(es), {report.acked} acknowledged, "
        f"{report.stored} stored, {report.duplicates} duplicate(s), {report.dead} dead-lettered"
    )
