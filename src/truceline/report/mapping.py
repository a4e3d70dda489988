"""The report's map picture: the day's incidents over the agreement's zones (Matplotlib).

Only the agreement's own geometry is drawn (contact line, areas held, buffer,
withdrawal bands, exclusion zones, sectors with their labels): no tiles, no
network. The main panel is zoomed on the day's incidents, a small panel shows the
whole line with the zoom's frame. Each incident is a marker coloured by status
with its uncertainty circle; each finding is ringed and numbered.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import EllipseCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry

__all__ = ["STATUS_COLOURS", "map_extent", "render_map"]

STATUS_COLOURS = {
    "reported": "#7a7a7a",
    "corroborated": "#e08a00",
    "verified": "#c0182a",
    "disputed": "#7b3fa0",
    "rejected": "#b9b9b9",
}
_PARTY_FILLS = ("#ece6d6", "#dde7ec", "#e6ecdb", "#ecdde6")
_BAND_COLOURS = ("#1f5f8b", "#2a8a5a", "#8a6d1f", "#8b1f5f", "#4a4a8a", "#5f8b1f", "#1f8b86")
_MARKERS = {"weapon_sighting": "^", "restriction": "s", "denial": "X", "movement": "D"}


def _patch_path(geom: BaseGeometry) -> MplPath | None:
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for p in polys:
        for ring in (p.exterior, *p.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _area(ax: Axes, geom: BaseGeometry, **kw: Any) -> None:
    path = _patch_path(geom)
    if path is not None:
        ax.add_patch(PathPatch(path, **kw))


def _lines(ax: Axes, geom: BaseGeometry, **kw: Any) -> None:
    for g in shapely.get_parts(
        shapely.boundary(geom) if geom.geom_type.endswith("Polygon") else geom
    ):
        for part in shapely.get_parts(g):
            xy = np.asarray(part.coords)
            if len(xy):
                ax.plot(xy[:, 0], xy[:, 1], **kw)


def map_extent(
    agreement: Any | None, incidents: Sequence[dict[str, Any]]
) -> tuple[float, float, float, float]:
    """The zoom frame: the day's incidents padded (at least 1.2 x 0.8 degrees), else the line."""
    if incidents:
        lon = np.array([i["lon"] for i in incidents], dtype=float)
        lat = np.array([i["lat"] for i in incidents], dtype=float)
        minx, maxx, miny, maxy = lon.min(), lon.max(), lat.min(), lat.max()
    elif agreement is not None and not agreement.contact_line.is_empty:
        minx, miny, maxx, maxy = agreement.contact_line.bounds
    else:
        return (30.0, 45.0, 40.0, 52.0)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    w = max(1.2, (maxx - minx) * 1.15 + 0.2)
    h = max(0.8, (maxy - miny) * 1.15 + 0.2)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _zones(ax: Axes, agreement: Any, labels: bool, extent: tuple[float, ...]) -> list[Any]:
    """Draw the zones; returns legend handles."""
    handles: list[Any] = []
    names = {p.id: p.name for p in agreement.parties}
    order = [p.id for p in agreement.parties]
    for z in agreement.zones_of("control"):
        i = order.index(z.party) if z.party in order else 0
        fill = _PARTY_FILLS[i % len(_PARTY_FILLS)]
        _area(ax, z.geometry, facecolor=fill, edgecolor="none", zorder=0)
        name = textwrap.shorten(str(names.get(z.party, z.party)), 38, placeholder="...")
        handles.append(Patch(facecolor=fill, label=f"held by {z.party}: {name}"))
    for z in agreement.zones_of("buffer"):
        _area(ax, z.geometry, facecolor="#f6e7a1", edgecolor="#b79b2a", lw=0.6, alpha=0.7, zorder=1)
    if agreement.zones_of("buffer"):
        handles.append(Patch(facecolor="#f6e7a1", edgecolor="#b79b2a", label="buffer zone"))
    classes = sorted({str(z.weapon_class) for z in agreement.zones_of("withdrawal_band")})
    for k, wc in enumerate(classes):
        colour = _BAND_COLOURS[k % len(_BAND_COLOURS)]
        bands = [z for z in agreement.zones_of("withdrawal_band") if z.weapon_class == wc]
        for z in bands:
            _lines(ax, z.geometry, color=colour, lw=0.7, ls=(0, (4, 2)), alpha=0.8, zorder=2)
        km = bands[0].band_km
        label = f"band: {wc.replace('_', ' ')}" + (f" ({km:g} km)" if km else "")
        handles.append(Line2D([], [], color=colour, lw=0.9, ls=(0, (4, 2)), label=label))
    for z in agreement.zones_of("exclusion"):
        _area(ax, z.geometry, facecolor="none", edgecolor="#b01c1c", hatch="xx", lw=1.0, zorder=2)
    if agreement.zones_of("exclusion"):
        handles.append(Patch(facecolor="none", edgecolor="#b01c1c", hatch="xx", label="exclusion"))
    view = shapely.box(*extent)
    for z in agreement.zones_of("sector"):
        _lines(ax, z.geometry, color="#9a9a9a", lw=0.4, zorder=2)
        if labels and z.geometry.intersects(view):
            p = z.geometry.intersection(view).representative_point()
            ax.annotate(z.id, (p.x, p.y), fontsize=7, color="#555", ha="center", zorder=6)
    _lines(ax, agreement.contact_line, color="#111", lw=1.6, zorder=4)
    handles.append(Line2D([], [], color="#111", lw=1.6, label="contact line"))
    return handles


def _incidents(ax: Axes, incidents: Sequence[dict[str, Any]]) -> None:
    if not incidents:
        return
    lon = np.array([i["lon"] for i in incidents], dtype=float)
    lat = np.array([i["lat"] for i in incidents], dtype=float)
    r = np.array([i["radius_m"] for i in incidents], dtype=float)
    colours = [STATUS_COLOURS.get(i["status"], "#444") for i in incidents]
    dy = r / 110_540.0
    dx = r / (111_320.0 * np.cos(np.radians(lat)))
    ax.add_collection(
        EllipseCollection(
            2 * dx,
            2 * dy,
            np.zeros_like(dx),
            units="xy",
            offsets=np.column_stack([lon, lat]),
            offset_transform=ax.transData,
            facecolors="none",
            edgecolors=colours,
            linewidths=0.5,
            alpha=0.6,
            zorder=5,
        )
    )
    size = 12 + 10 * np.sqrt(np.array([max(1, int(i["count"])) for i in incidents]))
    kinds = np.array([i["kind"] for i in incidents])
    for k in np.unique(kinds):
        m = kinds == k
        ax.scatter(
            lon[m],
            lat[m],
            s=size[m],
            c=[c for c, keep in zip(colours, m, strict=True) if keep],
            marker=_MARKERS.get(str(k), "o"),
            edgecolors="#222",
            linewidths=0.4,
            zorder=7,
        )


#: above this many findings the map rings them without their numbers (the table has them)
MAX_LABELLED = 20


def _findings(ax: Axes, findings: Sequence[dict[str, Any]]) -> None:
    pts = [(n, f["lon"], f["lat"]) for n, f in enumerate(findings, 1) if f.get("lon") is not None]
    if pts:
        ax.scatter(
            [p[1] for p in pts],
            [p[2] for p in pts],
            s=260,
            facecolors="none",
            edgecolors="#b01c1c",
            lw=1.2,
            alpha=0.8,
            zorder=8,
        )
    if len(pts) > MAX_LABELLED:
        return
    at: dict[tuple[float, float], list[str]] = {}
    for n, x, y in pts:  # findings on one incident share one label: "F5, F11"
        at.setdefault((round(float(x), 4), round(float(y), 4)), []).append(f"F{n}")
    for (x, y), names in at.items():
        ax.annotate(
            ", ".join(names),
            (x, y),
            xytext=(7, 7),
            textcoords="offset points",
            fontsize=8,
            color="#b01c1c",
            weight="bold",
            zorder=9,
        )


def _frame(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    minx, miny, maxx, maxy = extent
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect(1.0 / math.cos(math.radians((miny + maxy) / 2)))
    ax.tick_params(labelsize=7)


def render_map(
    agreement: Any | None,
    incidents: Sequence[dict[str, Any]],
    findings: Sequence[dict[str, Any]],
    path: Path,
    title: str,
) -> Path:
    """Write the PNG map of ``incidents`` and ``findings`` over the zones to ``path``."""
    fig = Figure(figsize=(11, 7.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.05, 0.17, 0.62, 0.76))
    extent = map_extent(agreement, incidents)
    handles: list[Any] = []
    if agreement is not None:
        handles = _zones(ax, agreement, True, extent)
    _incidents(ax, incidents)
    _findings(ax, findings)
    _frame(ax, extent)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel("longitude (°E)", fontsize=8)
    ax.set_ylabel("latitude (°N)", fontsize=8)
    if agreement is not None and not agreement.contact_line.is_empty:
        over = fig.add_axes((0.70, 0.55, 0.28, 0.38))
        _zones(over, agreement, False, extent)
        lx0, ly0, lx1, ly1 = agreement.contact_line.bounds
        whole = (
            min(lx0, extent[0]) - 0.4,
            min(ly0, extent[1]) - 0.4,
            max(lx1, extent[2]) + 0.4,
            max(ly1, extent[3]) + 0.4,
        )
        _frame(over, whole)
        over.add_patch(
            Rectangle(
                extent[:2],
                extent[2] - extent[0],
                extent[3] - extent[1],
                fill=False,
                edgecolor="#b01c1c",
                lw=1.2,
                zorder=10,
            )
        )
        over.set_title("whole line", fontsize=8, loc="left")
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor=c,
            markeredgecolor="#222",
            label=f"incident: {s}",
        )
        for s, c in STATUS_COLOURS.items()
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor="none",
            markersize=12,
            markeredgecolor="#b01c1c",
            label="finding (F1, F2, ...)",
        )
    )
    fig.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.69, 0.02),
        fontsize=7,
        frameon=False,
        ncol=1,
    )
    fig.text(
        0.05,
        0.06,
        "circles: 95 % location uncertainty; marker size grows with the "
        "count; ^ weapon sighting, s restriction, o fire and other kinds",
        fontsize=7,
        color="#444",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
