"""Intake: read observation files in many layouts into normalised, validated chunks."""

from __future__ import annotations

from truceline.intake.chunk import CHUNK_ROWS, ParsedChunk
from truceline.intake.read import FORMATS, detect_format, read_observations
from truceline.intake.writer import write_observations

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "ParsedChunk",
    "detect_format",
    "read_observations",
    "write_observations",
]
