"""The forest plot's text columns: make the cell texts, measure them, place them left and right of
the graphics panel, size the figure around them and draw the header rules (no data here)."""

from __future__ import annotations

from typing import Any, Literal

from matplotlib import transforms as mtrans
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from .forest_table import Column, Table
from .style import ForestStyle

__all__ = ["column_offsets", "column_widths", "draw_rules", "fit_figure", "make_texts", "place_texts", "width_in"]


def make_texts(ax: Axes, table: Table, st: ForestStyle) -> tuple[dict[tuple[int, str], Text], dict[str, list[Any]]]:
    cells: dict[tuple[int, str], Text] = {}
    heads: list[Text] = []
    group_heads: list[tuple[Text, list[Column]]] = []
    # created in axes x / data y: an x of 0 in data coordinates is undefined on log and logit axes
    trans = mtrans.blended_transform_factory(ax.transAxes, ax.transData)
    base: dict[str, Any] = {"va": "center", "clip_on": False, "color": st.text_color, "transform": trans}
    for i, r in enumerate(table.rows):
        weight = "bold" if r.kind in ("pooled", "group", "extra_head") else "normal"
        color = st.extra_color if r.kind in ("extra", "extra_head") else st.text_color
        fstyle = "italic" if r.kind in ("extra_head", "pi") else "normal"
        for key, txt in r.cells.items():
            if txt:
                cells[(i, key)] = ax.text(0, i, txt, **{**base, "color": color}, fontweight=weight, fontstyle=fstyle)
        if r.span:
            cells[(i, "span")] = ax.text(0, i, r.span, **base, ha="left")
    for c in table.columns:
        heads.append(ax.text(0, 1, c.header, **base, fontweight="bold"))
    done: list[str] = []
    for c in table.columns:
        if c.group and c.group not in done:
            done.append(c.group)
            members = [m for m in table.columns if m.group == c.group]
            group_heads.append((ax.text(0, 0, c.group, **base, fontweight="bold", ha="center"), members))
    # headers over the panel
    ci_col = next(c for c in table.columns if c.key == "ci")
    heads.append(ax.text(0.5, 0, ci_col.group, **base, fontweight="bold", ha="center"))
    heads.append(ax.text(0.5, 1, ci_col.header, **base, fontweight="bold", ha="center"))
    return cells, {"heads": heads, "group_head_pairs": group_heads, "group_heads": [t for t, _ in group_heads]}


def width_in(fig: Figure, t: Text) -> float:
    return t.get_window_extent().width / fig.dpi


def column_widths(
    fig: Figure, table: Table, cells: dict[tuple[int, str], Text], group_heads: list[Text], st: ForestStyle
) -> dict[str, float]:
    widths = {c.key: 0.0 for c in table.columns}
    for (_, key), t in cells.items():
        if key in widths:
            widths[key] = max(widths[key], width_in(fig, t))
    return widths


def column_offsets(table: Table, widths: dict[str, float], st: ForestStyle) -> dict[str, tuple[float, float]]:
    """(left, right) edge of each column in inches from the panel edge it hangs on."""
    out: dict[str, tuple[float, float]] = {}
    x = -st.panel_gap
    for c in reversed([c for c in table.columns if c.side == "left"]):
        out[c.key] = (x - widths[c.key], x)
        x -= widths[c.key] + st.col_gap
    x = st.panel_gap
    for c in (c for c in table.columns if c.side == "right"):
        out[c.key] = (x, x + widths[c.key])
        x += widths[c.key] + st.col_gap
    return out


def place_texts(
    fig: Figure,
    ax: Axes,
    table: Table,
    cells: dict[tuple[int, str], Text],
    texts: dict[str, list[Any]],
    widths: dict[str, float],
    st: ForestStyle,
) -> None:
    # headers and group headers take part in the widths: widen columns until they fit
    head_texts = texts["heads"][: len(table.columns)]
    for c, h in zip(table.columns, head_texts, strict=True):
        widths[c.key] = max(widths[c.key], width_in(fig, h))
    for t, members in texts["group_head_pairs"]:
        span = sum(widths[m.key] for m in members) + st.col_gap * (len(members) - 1)
        need = width_in(fig, t) - span
        if need > 0:
            for m in members:
                widths[m.key] += need / len(members)
    off = column_offsets(table, widths, st)
    blend = mtrans.blended_transform_factory(ax.transAxes, ax.transData)

    def tr(c: Column, x: float) -> mtrans.Transform:
        return blend + mtrans.ScaledTranslation(x, 0, fig.dpi_scale_trans)

    col = {c.key: c for c in table.columns}
    label = col["label"]
    ha: Literal["left", "right"]
    for (_, key), t in cells.items():
        if key == "span":
            c, x, ha = label, off["label"][0], "left"
        else:
            c = col[key]
            x, ha = (off[key][0], "left") if c.align == "left" else (off[key][1], "right")
        t.set_x(0.0 if c.side == "left" else 1.0)
        t.set_transform(tr(c, x))
        t.set_horizontalalignment(ha)
    for c, h in zip(table.columns, head_texts, strict=True):
        x, ha = (off[c.key][0], "left") if c.align == "left" else (off[c.key][1], "right")
        h.set_x(0.0 if c.side == "left" else 1.0)
        h.set_transform(tr(c, x))
        h.set_horizontalalignment(ha)
    for t, members in texts["group_head_pairs"]:
        left, right = off[members[0].key][0], off[members[-1].key][1]
        t.set_x(0.0 if members[0].side == "left" else 1.0)
        t.set_transform(tr(members[0], (left + right) / 2))


def fit_figure(fig: Figure, ax: Axes, panel_w: float, panel_h: float, margin: float) -> None:
    """Size the figure so that everything drawn lies inside it with ``margin`` inches to spare."""
    left = right = bottom = top = 1.0
    for _ in range(3):
        w, h = left + panel_w + right, bottom + panel_h + top
        fig.set_size_inches(w, h)
        ax.set_position((left / w, bottom / h, panel_w / w, panel_h / h))
        bb = fig.get_tightbbox()
        dl, dr = margin - bb.x0, bb.x1 - w + margin
        db, dt = margin - bb.y0, bb.y1 - h + margin
        if max(abs(dl), abs(dr), abs(db), abs(dt)) < 1e-3:
            break
        left, right, bottom, top = left + dl, right + dr, bottom + db, top + dt


def draw_rules(fig: Figure, ax: Axes, table: Table, widths: dict[str, float], st: ForestStyle) -> None:
    """Thin horizontal rules under the column headers and above the first study, table-wide."""
    off = column_offsets(table, widths, st)
    axbb = ax.get_position()
    wfig = fig.get_size_inches()[0]
    lo = axbb.x0 + off["label"][0] / wfig
    right_keys = [c.key for c in table.columns if c.side == "right"]
    hi = axbb.x1 + (off[right_keys[-1]][1] / wfig if right_keys else 0.0)
    trans = mtrans.blended_transform_factory(fig.transFigure, ax.transData)
    fig.add_artist(Line2D([lo, hi], [1.5, 1.5], transform=trans, color=st.rule_color, lw=0.6))
