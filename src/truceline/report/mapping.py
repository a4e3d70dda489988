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

from truceline.geo.geodesy import degrees_per_metre
from truceline.report.labels import weapon_label

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
_BAND_DASHES = ((0, (5, 2)), (0, (1, 1.5)), (0, (7, 2, 1, 2)), (0, (3, 3)), "solid", (0, (9, 3)))
_MARKERS = {"weapon_sighting": "^", "restriction": "s", "denial": "X", "movement": "D"}
#: above this many incidents the map shows their density instead of each circle
DENSITY_ABOVE = 300
_GETTEXT: list[Any] = [lambda s: s]


def _(text: str) -> str:
    return str(_GETTEXT[0](text))


def band_label(weapon_class: str) -> str:
    """A weapon class as a reader names it, in the map's language."""
    return _(weapon_label(weapon_class))


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
        name = "\n".join(textwrap.wrap(str(names.get(z.party, z.party)), 44))
        handles.append(Patch(facecolor=fill, label=_("held by %(party)s") % {"party": name}))
    for z in agreement.zones_of("buffer"):
        _area(ax, z.geometry, facecolor="#f6e7a1", edgecolor="#b79b2a", lw=0.6, alpha=0.7, zorder=1)
    if agreement.zones_of("buffer"):
        handles.append(Patch(facecolor="#f6e7a1", edgecolor="#b79b2a", label=_("buffer zone")))
    classes = sorted({str(z.weapon_class) for z in agreement.zones_of("withdrawal_band")})
    for k, wc in enumerate(classes):
        colour = _BAND_COLOURS[k % len(_BAND_COLOURS)]
        dash = _BAND_DASHES[k % len(_BAND_DASHES)]
        bands = [z for z in agreement.zones_of("withdrawal_band") if z.weapon_class == wc]
        for z in bands:
            _lines(ax, z.geometry, color=colour, lw=0.9, ls=dash, alpha=0.85, zorder=2)
        km = bands[0].band_km
        label = _("withdrawal line: %(weapons)s") % {"weapons": band_label(wc)}
        label = "\n".join(textwrap.wrap(label + (f" ({km:g} km)" if km else ""), 48))
        handles.append(Line2D([], [], color=colour, lw=1.1, ls=dash, label=label))
    for z in agreement.zones_of("exclusion"):
        _area(ax, z.geometry, facecolor="none", edgecolor="#b01c1c", hatch="xx", lw=1.0, zorder=2)
    if agreement.zones_of("exclusion"):
        handles.append(
            Patch(facecolor="none", edgecolor="#b01c1c", hatch="xx", label=_("exclusion zone"))
        )
    view = shapely.box(*extent)
    for z in agreement.zones_of("sector"):
        _lines(ax, z.geometry, color="#9a9a9a", lw=0.4, zorder=2)
        if labels and z.geometry.intersects(view):
            p = z.geometry.intersection(view).representative_point()
            ax.annotate(z.id, (p.x, p.y), fontsize=7, color="#555", ha="center", zorder=6)
    _lines(ax, agreement.contact_line, color="#111", lw=1.6, zorder=4)
    handles.append(Line2D([], [], color="#111", lw=1.6, label=_("contact line")))
    return handles


def metres_to_degrees(m: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths in metres as degrees of longitude and of latitude at ``lat``."""
    dlon, dlat = degrees_per_metre(lat)
    return m * dlon, m * dlat


def _axes_deg(
    incidents: Sequence[dict[str, Any]], lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width, height (degrees) and angle of each incident's 95 % ellipse, or its circle."""
    n = len(incidents)
    a = np.array([float(i["radius_m"]) for i in incidents])
    b, angle = a.copy(), np.zeros(n)
    for k, i in enumerate(incidents):
        e = i.get("ellipse")
        if e:
            a[k], b[k] = float(e["semi_major_m"]), float(e["semi_minor_m"])
            angle[k] = 90.0 - float(e["azimuth_deg"])  # azimuth from north -> angle from east
    dx, dy = metres_to_degrees(2 * a, lat)
    return dx, dy, angle


def _density(ax: Axes, lon: np.ndarray, lat: np.ndarray) -> None:
    ax.hexbin(lon, lat, gridsize=45, mincnt=1, cmap="OrRd", alpha=0.75, zorder=5, linewidths=0)


def _incidents(ax: Axes, incidents: Sequence[dict[str, Any]]) -> None:
    if not incidents:
        return
    lon = np.array([i["lon"] for i in incidents], dtype=float)
    lat = np.array([i["lat"] for i in incidents], dtype=float)
    colours = [STATUS_COLOURS.get(i["status"], "#444") for i in incidents]
    if len(incidents) > DENSITY_ABOVE:
        _density(ax, lon, lat)
        verified = np.array([i["status"] == "verified" for i in incidents])
        ax.scatter(lon[verified], lat[verified], s=10, c=STATUS_COLOURS["verified"], zorder=7)
        return
    w, h, angle = _axes_deg(incidents, lat)
    ax.add_collection(
        EllipseCollection(
            w,
            h * (w > 0),
            angle,
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
    rank = np.array([_STATUS_RANK.get(i["status"], 0) for i in incidents])
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
    top = rank == max(_STATUS_RANK.values())
    if top.any():  # verified markers drawn last: never hidden under another
        ax.scatter(
            lon[top],
            lat[top],
            s=size[top],
            c=STATUS_COLOURS["verified"],
            edgecolors="#000",
            linewidths=0.6,
            zorder=7.5,
        )


_STATUS_RANK = {"rejected": 0, "reported": 1, "disputed": 2, "corroborated": 3, "verified": 4}

#: above this many findings the map rings them without their numbers (the table has them)
MAX_LABELLED = 20


def _findings(ax: Axes, findings: Sequence[dict[str, Any]]) -> None:
    pts = [(n, f["lon"], f["lat"]) for n, f in enumerate(findings, 1) if f.get("lon") is not None]
    if len(pts) > 3 * MAX_LABELLED:  # a mass of rings hides the map: small rings, no numbers
        ax.scatter(
            [p[1] for p in pts],
            [p[2] for p in pts],
            s=18,
            facecolors="none",
            edgecolors="#b01c1c",
            lw=0.6,
            alpha=0.7,
            zorder=8,
        )
        return
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
    x0, x1 = ax.get_xlim()
    cell = max((x1 - x0) / 30.0, 1e-6)
    at: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
    for n, x, y in pts:  # findings close together share one label: "F5, F11"
        at.setdefault((int(x // cell), int(y // cell)), []).append((float(x), float(y), f"F{n}"))
    for group in at.values():
        x, y = group[0][0], group[0][1]
        names = [g[2] for g in group]
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


def _places(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    """Label the gazetteer's towns inside the frame (major cities in bold)."""
    from truceline.report.places import GAZETTEER

    minx, miny, maxx, maxy = extent
    for name, x, y, major in GAZETTEER:
        if minx < x < maxx and miny < y < maxy:
            ax.plot([x], [y], marker="s", ms=2.5, color="#333", zorder=6)
            ax.annotate(
                _(name),
                (x, y),
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=7,
                color="#222",
                weight="bold" if major else "normal",
                zorder=6,
            )


def _scale_and_north(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    """A scale bar of a round number of km and a north arrow, bottom left."""
    minx, miny, maxx, maxy = extent
    lat = miny + 0.06 * (maxy - miny)
    km_wide = float(metres_to_degrees(np.array([1000.0]), np.array([lat]))[0][0])
    target = (maxx - minx) / 5 / km_wide
    km = max(k for k in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500) if k <= max(target, 1))
    x0 = minx + 0.04 * (maxx - minx)
    ax.plot(
        [x0, x0 + km * km_wide], [lat, lat], color="#111", lw=2.5, solid_capstyle="butt", zorder=11
    )
    ax.annotate(
        f"{km} km", (x0, lat), xytext=(0, 4), textcoords="offset points", fontsize=7, zorder=11
    )
    ny = miny + 0.80 * (maxy - miny)
    ax.annotate(
        "N",
        xy=(x0, maxy - 0.04 * (maxy - miny)),
        xytext=(x0, ny),
        ha="center",
        fontsize=9,
        weight="bold",
        zorder=11,
        arrowprops={"arrowstyle": "-|>", "color": "#111", "lw": 1.2},
    )


def render_map(
    agreement: Any | None,
    incidents: Sequence[dict[str, Any]],
    findings: Sequence[dict[str, Any]],
    path: Path,
    title: str = "",
    *,
    lang: str = "en",
) -> Path:
    """Write the PNG map of ``incidents`` and ``findings`` over the zones to ``path``,
    labelled in ``lang``."""
    from truceline.i18n import translations

    _GETTEXT[0] = translations(lang).gettext
    fig = Figure(figsize=(11, 7.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.05, 0.17, 0.62, 0.76))
    extent = map_extent(agreement, incidents)
    _frame(ax, extent)
    handles: list[Any] = []
    if agreement is not None:
        handles = _zones(ax, agreement, True, extent)
    _places(ax, extent)
    _incidents(ax, incidents)
    _findings(ax, findings)
    _frame(ax, extent)
    _scale_and_north(ax, extent)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(_("longitude (°E)"), fontsize=8)
    ax.set_ylabel(_("latitude (°N)"), fontsize=8)
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
        over.set_title(_("whole line"), fontsize=8, loc="left")
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor=c,
            markeredgecolor="#222",
            label=_("incident: %(status)s") % {"status": _(s)},
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
            label=_("finding (F1, F2, ...)"),
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
        _(
            "ellipses and circles: 95 % location uncertainty; marker size grows with the "
            "count; ^ weapon sighting, s restriction, o fire and other kinds"
        )
        if len(incidents) <= DENSITY_ABOVE
        else _("shading: density of incidents; dots: verified incidents"),
        fontsize=7,
        color="#444",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
