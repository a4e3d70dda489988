"""Deconfliction register (to come): parties' notifications of planned activities
and protected sites as 4D volumes (footprint, altitude band, time window, activity
type), conflict detection between volumes and against the agreement's restricted
zones, and the counterparty's acknowledgments. See DESIGN.md, "Words: Notification"."""
