"""Early warning: daily count series per unit, forecasts of the next days' totals
against the baselines an analyst would use, escalation probabilities, a same-day
surge detector, and their rolling-origin backtest. Pure: arrays in, arrays and
dataclasses out (the readers parse files; nothing here touches the store).
See docs/early-warning.md."""
