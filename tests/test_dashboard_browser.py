"""The dashboard end to end: a real uvicorn server over a workspace with incidents, and
Debian's Chromium driven by Playwright, signed in as the analyst, a party liaison and
the public. Each sees what the API lets its role read, and the map shows features."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from truceline.service.workspace import Workspace

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _observations(path: Path) -> Path:
    rows = ["client_id,source_id,source_type,t,t_unc_s,lon,lat,radius_m,kind,count,credibility"]
    for i in range(24):
        lon, lat = 37.6 + 0.05 * (i % 12), 47.9 + 0.04 * (i % 12)
        t = f"2015-03-{10 + i // 12:02d}T{2 + i % 12:02d}:00:00Z"
        rows.append(f"o-{i},outlet-1,osint,{t},600,{lon:.3f},{lat:.3f},800,explosion,{1 + i % 4},3")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def filled(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    from truceline.service.agreements import load_agreement
    from truceline.service.demo import default_agreement_path
    from truceline.service.fusion import fuse
    from truceline.service.ingest import ingest_files

    load_agreement(sqlite_workspace, default_agreement_path())
    ingest_files(sqlite_workspace, [_observations(tmp_path / "obs.csv")])
    fuse(sqlite_workspace)
    return sqlite_workspace


@pytest.fixture
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        yield b
        b.close()


def _coloured_pixels(png: bytes) -> int:
    """Pixels of the map drawn in an incident's status colour (reported grey excluded)."""
    import numpy as np
    from matplotlib import image

    rgb = (image.imread(io.BytesIO(png))[:, :, :3] * 255).astype(int)
    colours = np.array([[0xE0, 0x8A, 0x00], [0xC0, 0x18, 0x2A], [0x7A, 0x7A, 0x7A]])
    near = (np.abs(rgb[:, :, None, :] - colours[None, None, :, :]).sum(axis=3) < 40).any(axis=2)
    return int(near.sum())


def _visit(browser: object, url: str, token: str | None) -> dict[str, object]:
    page = browser.new_page(viewport={"width": 1200, "height": 800})  # type: ignore[attr-defined]
    page.goto(url + "/?lang=en")
    if token:
        page.fill("#token", token)
        page.click("#signin button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    out = {
        "role": page.get_attribute("body", "data-role"),
        "shown": int(page.get_attribute("body", "data-incidents") or 0),
        "markers": page.locator("path.incident").count(),
        "zones": page.locator(".leaflet-overlay-pane path").count(),
        "who": page.inner_text("#who"),
        "findings": page.inner_text("#findings"),
        "png": page.locator("#map").screenshot(),
    }
    if out["markers"]:
        page.locator("path.incident").first.click(force=True)
        page.wait_for_function("!document.querySelector('#detail').textContent.includes('...')")
        out["detail"] = page.inner_text("#detail")
    page.close()
    return out


def test_each_role_sees_what_it_may_and_the_map_shows_features(
    filled: Workspace, serve: Callable[..., tuple[str, object]], browser: object
) -> None:
    from truceline.service.users import add_user

    api_server, _stop = serve(filled)
    tokens = {
        "analyst": add_user(filled, "ana", "analyst").token,
        "party": add_user(filled, "liaison-a", "party", "A").token,
    }
    api_counts = {}
    for role, tok in [*tokens.items(), ("public", None)]:
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        doc = httpx.get(f"{api_server}/incidents?limit=10000", headers=headers).json()
        api_counts[role] = len(doc["features"])
    assert api_counts["analyst"] > 0

    analyst = _visit(browser, api_server, tokens["analyst"])
    assert analyst["role"] == "analyst" and "ana" in str(analyst["who"])
    assert analyst["shown"] == analyst["markers"] == api_counts["analyst"]
    assert int(analyst["zones"]) > analyst["markers"]  # the agreement's zones are drawn too
    assert _coloured_pixels(analyst["png"]) > 50  # the screenshot shows the markers
    assert "observations" in str(analyst["detail"])  # the analyst sees the evidence

    liaison = _visit(browser, api_server, tokens["party"])
    assert liaison["role"] == "party" and liaison["shown"] == api_counts["party"]

    public = _visit(browser, api_server, None)
    assert public["role"] == "public" and public["shown"] == api_counts["public"]
    assert "published data only" in str(public["who"])
    if public["markers"]:
        assert "observations" not in str(public["detail"])  # no raw submissions


def test_the_page_speaks_three_languages_and_loads_nothing_from_outside(
    sqlite_workspace: Workspace, serve: Callable[..., tuple[str, object]], browser: object
) -> None:
    api_server, _stop = serve(sqlite_workspace)
    page = browser.new_page()  # type: ignore[attr-defined]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for lang, sign_in in (("uk", "Увійти"), ("ru", "Войти"), ("en", "Sign in")):
        page.goto(f"{api_server}/?lang={lang}")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        assert page.inner_text("#signin button[type=submit]") == sign_in
        assert page.get_attribute("html", "lang") == lang
    assert page.evaluate("typeof L") == "object"  # Leaflet came from the package
    assert requests and all(u.startswith(api_server) for u in requests), requests
    page.close()
