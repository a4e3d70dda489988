"""HTTP API (to come): the FastAPI app built by a ``create_app(settings)`` factory,
authentication and role checks (deny by default), routes that each call one service
function, OGC API - Features for incidents and findings, and one error handler that
returns ``{ok: false, error, errors, status}``. See DESIGN.md, "Choices"."""
