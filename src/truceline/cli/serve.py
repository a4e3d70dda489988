"""``truceline serve``: the HTTP API over this workspace (uvicorn)."""

from __future__ import annotations

import typer

from truceline.cli._common import err_console, workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", help="port to listen on (0: any free one)"),
    max_body_bytes: int = typer.Option(32 * 1024 * 1024, help="largest request body"),
    max_batch: int = typer.Option(10_000, help="most observations in one batch"),
    rate: float = typer.Option(200.0, "--rate", help="requests a second per token (0: no limit)"),
    burst: int = typer.Option(400, "--burst", help="requests a token may send in a burst"),
    timeout: float = typer.Option(60.0, "--timeout", help="seconds before a request gets 503"),
    json_logs: bool = typer.Option(False, "--json-logs", help="structured JSON log lines"),
) -> None:
    """Serve the API (OpenAPI at /docs, health at /healthz and /readyz)."""
    import gc

    import uvicorn

    from truceline.api import ApiLimits, create_app
    from truceline.api.logs import log_config
    from truceline.service.submissions import warm_up

    limits = ApiLimits(max_body_bytes, max_batch, rate, burst, timeout)
    app = create_app(workspace(ctx), limits)
    warm_up()
    gc.freeze()  # what lives as long as the server, out of the collector's sight
    err_console.print(f"truceline API on http://{host}:{port}/docs", highlight=False)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=log_config(json_logs),
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024,
    )
