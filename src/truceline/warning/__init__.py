"""Early warning (to come): per-sector time series of incidents, escalation models
against a baseline, alerts (sector, window, score, baseline, drivers, who was told)
and their backtest. Alerts go to subscribers by webhook (HMAC-SHA256) and
server-sent events. See DESIGN.md, "Flow" and "Words: Alert"."""
