"""Plain types and enums shared by every stage. No I/O lives here."""
