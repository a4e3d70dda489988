"""Use cases: one place for transactions and access checks. Each function takes
typed inputs and returns a typed result; the CLI and the API only adapt."""
