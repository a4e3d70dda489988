"""Deconfliction register: parties' notifications of planned activities and protected
sites as 4D volumes (footprint, altitude band, time window, activity type), conflict
search between volumes (``search`` in bulk, ``live`` one submission at a time) and
against the agreement's restricted zones, and the counterparty's acknowledgments.
See DESIGN.md, "Words: Notification", and docs/deconfliction.md."""
