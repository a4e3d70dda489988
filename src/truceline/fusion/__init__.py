"""Fusion and verification: space-time clustering of observations into incidents,
bearing fixes, grading and corroboration, and the incident lifecycle (pure cores)."""
