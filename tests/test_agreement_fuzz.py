"""Damaged agreements: whatever bytes an agreement's TOML or GeoJSON holds, loading it
either succeeds or refuses with an AgreementError naming the file; never a traceback."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.compliance.agreement import load_agreement_file
from truceline.domain.errors import AgreementError

EXAMPLE = ROOT / "examples" / "minsk-2015"
FILES = ("agreement.toml", "contact_line.geojson", "region.geojson")
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load_damaged(name: str, damage: bytes, at: int, cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "agreement"
        shutil.copytree(EXAMPLE, folder)
        path = folder / name
        data = path.read_bytes()
        at %= len(data)
        damaged = data[:at] + damage + data[at:]
        path.write_bytes(damaged[: max(len(damaged) - cut, 0)])
        try:
            load_agreement_file(folder)
        except AgreementError as exc:
            assert name in str(exc) or "agreement.toml" in str(exc), str(exc)
            assert str(exc).strip()


@FUZZ
@given(
    name=st.sampled_from(FILES),
    damage=st.binary(max_size=48),
    at=st.integers(min_value=0, max_value=1_000_000),
    cut=st.integers(min_value=0, max_value=400),
)
def test_damaged_bytes_are_refused_by_name(name: str, damage: bytes, at: int, cut: int) -> None:
    _load_damaged(name, damage, at, cut)


_TOML_SNIPPETS = st.sampled_from(
    [b"nan", b"inf", b"-1e309", b"1e9", b"0.0001", b'"', b"[[", b"]]", b"{", b"}", b"=",
     b"\x00", b"\xff\xfe", b"[[rule]]\n", b"band_km = ", b"[", b",", b"\n", b"true", b"-0"]
)  # fmt: skip


@FUZZ
@given(parts=st.lists(_TOML_SNIPPETS, min_size=1, max_size=6), at=st.integers(0, 1_000_000))
def test_toml_tokens_spliced_in_are_refused_by_name(parts: list[bytes], at: int) -> None:
    _load_damaged("agreement.toml", b"".join(parts), at, 0)
