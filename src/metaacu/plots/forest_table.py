"""The forest plot's table: rows and columns built from the results' public frames (no drawing here)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import MetaacuInputError
from ..ordering import key_order, label_years, study_order
from ..report import format_ci
from .forest_labels import COMMON_METHODS, REVMAN_METHOD, ci_header, het_text, model_name, subgroup_test_text, test_text
from .style import ForestStyle, decimals_needed, fmt_num

NAN = float("nan")
_ARM_COLUMNS = {
    "continuous": (("mean", "Mean"), ("sd", "SD"), ("n", "Total")),
    "binary": (("events", "Events"), ("n", "Total")),
    "two_rates": (("events", "Events"), ("time", "Person-time")),
}


@dataclass
class Column:
    key: str
    header: str
    side: str  # "left" or "right"
    align: str = "right"
    group: str = ""  # spanning header above (arm name)


@dataclass
class Row:
    kind: str  # head1 head2 group study pooled pi text blank extra_head extra
    cells: dict[str, str] = field(default_factory=dict)
    est: float = NAN  # display scale
    lo: float = NAN
    hi: float = NAN
    weight: float = NAN
    model: str = ""  # "primary" / "second" for diamonds
    span: str = ""  # free text from the label column rightwards


@dataclass
class Table:
    rows: list[Row]
    columns: list[Column]
    measure: str | None
    level: float


def short_name(info: Any) -> str:
    """Column-header name of the display quantity: ``"Std. mean difference"`` rather than the full name."""
    if info.code == "PETO":
        return "Peto odds ratio"
    name = re.sub(r"\s*\(.*\)", "", info.display_name)
    name = name.replace("Standardised", "Std.").replace(", heteroscedastic", "")
    return name


# ----------------------------------------------------------------------------- results the plots read
#: Pooling methods without τ²: the common-effect inverse-variance model and the 2×2-table methods.
def is_binary_pooled(result: Any) -> bool:
    """A Mantel-Haenszel or Peto result (:class:`metaacu.binary.BinaryPooled`), recognised by its
    public attributes: it has no ``summary_frame``."""
    return getattr(result, "method", None) in REVMAN_METHOD and not hasattr(result, "summary_frame")


def pooled_info(result: Any) -> Any:
    """The measure registry entry of a plottable result (a subgroup analysis: of its overall model)."""
    model = result.overall if hasattr(result, "groups") and hasattr(result, "overall") else result
    if not (hasattr(model, "to_frame") and hasattr(model, "info")):
        raise MetaacuInputError(
            f"argument 'result' must be a MetaAnalysis, a Mantel-Haenszel/Peto result or a subgroup analysis, "
            f"not {type(result).__name__}"
        )
    return model.info


def summary_row(result: Any) -> pd.Series:
    """The pooled statistics a plot shows, as one row with the columns of ``MetaAnalysis.summary_frame``.

    Mantel-Haenszel and Peto results have no summary frame: the row is read from their public
    attributes (an equal-effects model: τ² = 0, Wald z test, no prediction interval).
    """
    if not is_binary_pooled(result):
        row: pd.Series = result.summary_frame().iloc[0]
        return row
    r = result
    return pd.Series(
        {
            "measure": r.measure,
            "method": r.method,
            "test": "z",
            "level": float(r.level),
            "k": int(r.k),
            "estimate": float(r.estimate),
            "se": float(r.se),
            "ci_low": float(r.ci_low),
            "ci_high": float(r.ci_high),
            "statistic": float(r.statistic),
            "df": float("inf"),
            "pvalue": float(r.pvalue),
            "pi_low": NAN,
            "pi_high": NAN,
            "tau2": 0.0,
            "tau": 0.0,
            "q": float(r.q),
            "q_df": int(r.q_df),
            "q_pvalue": float(r.q_pvalue),
            "i2": float(r.i2),
            "i2_q": float(r.i2),
            "h2": float(r.h2),
            "converged": True,
        }
    )


def ci_digits(info: Any, summary: pd.Series, digits: int, size: float | None = None) -> int:
    """Decimals of the CI column: ``digits``, or up to 3 more when the pooled CI would otherwise span
    fewer than two units of the last decimal (e.g. a risk difference of 0.004 [0.003, 0.005]).  ``size``:
    where the back-transformation needs one (PFT, IRFT), the pooled value's (:func:`pooled_size`)."""
    lo, hi = (float(v) for v in info.to_display([summary["ci_low"], summary["ci_high"]], size))
    width, d = hi - lo, digits
    while np.isfinite(width) and width < 2 * 10.0**-d and d < digits + 3:
        d += 1
    return d


def _disp(info: Any, x: Any, size: Any = None) -> Any:
    return info.to_display(x, size)


def pooled_size(info: Any, frame: pd.DataFrame | pd.Series) -> float | None:
    """PFT, IRFT: the size (n, person-time) at which a pooled value is back-transformed, the harmonic mean
    of the studies' in ``frame`` (a tidy frame; a study row: its own); ``None`` for other measures."""
    col = info.size_column
    if col is None or col not in (frame.columns if isinstance(frame, pd.DataFrame) else frame.index):
        return None
    if isinstance(frame, pd.Series):
        return float(frame[col])
    return float(info.pooled_size(frame.loc[frame.row_type == "study", col].to_numpy(float)))


@dataclass(frozen=True)
class Permutation:
    """Row order given as a permutation of the studies (the deprecated ``forest_plot(order=...)``):
    row *j* shows study ``index[j]`` (within each subgroup, as before)."""

    index: tuple[Any, ...]


def _ordering(sort_by: Any, st: pd.DataFrame, cols: pd.DataFrame | None) -> np.ndarray:
    """Row order of the studies ``st`` (one subgroup): ``sort_by`` as :func:`metaacu.ordering.study_order`
    (``"year"`` from ``cols["year"]`` when there is one), or a :class:`Permutation`."""
    k = len(st)
    if isinstance(sort_by, Permutation):
        if sorted(sort_by.index) != list(range(k)):
            raise MetaacuInputError(f"argument 'order' must be a permutation of 0..{k - 1}")
        return np.asarray(sort_by.index, dtype=np.intp)
    labels = [str(x) for x in st["label"]]
    years = None
    if isinstance(sort_by, str) and sort_by == "year":
        if cols is not None and "year" in cols.columns:
            years = pd.to_numeric(cols["year"], errors="coerce").to_numpy(float)
        else:
            years = label_years(labels, hint="give a 'year' column in `columns` or one sort key per study")
    return study_order(
        sort_by, labels, effects=st["estimate"].to_numpy(float), weights=st["weight"].to_numpy(float), years=years
    )


def sort_keys_of(sort_by: Any, start: int, k: int) -> Any:
    """The part of ``sort_by`` for the studies ``start`` to ``start + k`` (one subgroup of a table)."""
    if sort_by is None or isinstance(sort_by, (str, Permutation)):
        return sort_by
    return np.asarray(sort_by)[start : start + k]


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "" if not np.isfinite(v) else fmt_num(float(v), 0) if float(v).is_integer() else f"{v:.3g}"
    return "" if v is None else str(v)


class TableBuilder:
    """Accumulates rows; columns are decided up front from the first result's frame."""

    def __init__(
        self,
        result: Any,
        second: Any,
        style: ForestStyle,
        columns: pd.DataFrame | None,
        extra_rows: pd.DataFrame | None,
        info: Any = None,
    ) -> None:
        self.style = style
        self.info = result.info if result is not None else info
        frame = result.to_frame() if result is not None else pd.DataFrame({"row_type": pd.Series([], dtype=str)})
        self.level = float(frame.attrs.get("level", 0.95))
        self.measure = frame.attrs.get("measure") if result is not None else info.code
        self.second = second
        self.columns_df = columns
        self.extra_rows = extra_rows
        self.rows: list[Row] = [Row("head1"), Row("head2")]
        fam = self.info.family
        self.arms = _ARM_COLUMNS.get(fam, ()) if style.show_data else ()
        have = set(frame.columns)
        need = {f"{c}{g}" for c, _ in self.arms for g in (1, 2)}
        if not need <= have:
            self.arms = ()
        self.data_digits = {
            c: decimals_needed(frame.loc[frame.row_type == "study", [f"{c}1", f"{c}2"]].to_numpy(), style.data_digits)
            for c, _ in self.arms
        }
        self.size = pooled_size(self.info, frame) if result is not None else None  # extra rows: the pooled one's
        self.digits = (
            style.digits if result is None else ci_digits(self.info, summary_row(result), style.digits, self.size)
        )
        self.cols = self._columns(result)

    # ------------------------------------------------------------------ columns
    def _columns(self, result: Any) -> list[Column]:
        st = self.style
        cols = [Column("label", st.study_header, "left", "left")]
        for g, arm in ((1, st.arm_labels[0]), (2, st.arm_labels[1])):
            cols += [Column(f"{c}{g}", head, "left", "right", arm) for c, head in self.arms]
        if result is None:  # estimates shown, nothing pooled
            cols.append(Column("ci", f"{100 * self.level:g}% CI", "right", "right", short_name(self.info)))
            if self.extra_rows is not None and "note" in self.extra_rows.columns:
                cols.append(Column("note", "Note", "right", "left"))
            return cols
        s0 = summary_row(result)
        two = self.second is not None
        cols.append(Column("ci", ci_header(s0, two), "right", "right", short_name(self.info)))
        if st.show_weights:
            cols.append(Column("weight", "Weight" if not two else f"Weight ({model_name(s0).split()[0]})", "right"))
            if two:
                s1 = summary_row(self.second)
                cols.append(Column("weight2", f"Weight ({model_name(s1).split()[0]})", "right"))
        if self.columns_df is not None:
            cols += [Column(f"x:{c}", str(c), "right", "left") for c in self.columns_df.columns if c != "year"]
        if self.extra_rows is not None and "note" in self.extra_rows.columns:
            cols.append(Column("note", "Note", "right", "left"))
        return cols

    # ------------------------------------------------------------------ blocks
    def studies(
        self,
        frame: pd.DataFrame,
        weights: np.ndarray,
        weights2: np.ndarray | None,
        cols: pd.DataFrame | None,
        sort_by: Any,
    ) -> None:
        st = frame[frame.row_type == "study"].reset_index(drop=True)
        st = st.assign(weight=weights)
        if cols is not None and len(cols) != len(st):
            raise MetaacuInputError(f"argument 'columns' has {len(cols)} rows for {len(st)} studies")
        for i in _ordering(sort_by, st, cols):
            r = st.iloc[i]
            size = pooled_size(self.info, r)
            cells = {"label": str(r["label"]), "ci": self._ci(r["estimate"], r["ci_low"], r["ci_high"], size)}
            cells.update(self._arm_cells(r))
            if self.style.show_weights:
                cells["weight"] = _weight_cell(float(weights[i]), self.style.weight_digits)
                if weights2 is not None:
                    cells["weight2"] = _weight_cell(float(weights2[i]), self.style.weight_digits)
            if cols is not None:
                cells.update({f"x:{c}": _fmt_cell(cols.iloc[i][c]) for c in cols.columns if c != "year"})
            est, lo, hi = _disp(self.info, [r["estimate"], r["ci_low"], r["ci_high"]], size)
            self.rows.append(Row("study", cells, est, lo, hi, float(weights[i])))

    def pooled(
        self, res: Any, label: str, weight: float, data: pd.DataFrame | None, model: str, weight_key: str = "weight"
    ) -> None:
        fr = res.to_frame()
        p = fr[fr.row_type == "pooled"].iloc[0]
        size = pooled_size(self.info, fr)
        cells = {"label": label, "ci": self._ci(p["estimate"], p["ci_low"], p["ci_high"], size)}
        if self.style.show_weights:
            cells[weight_key] = fmt_num(weight, self.style.weight_digits) + "%"
        if data is not None and model == "primary":
            for c, _ in self.arms:
                if c != "mean" and c != "sd":
                    for g in (1, 2):
                        cells[f"{c}{g}"] = fmt_num(float(np.nansum(data[f"{c}{g}"].to_numpy(float))), 0)
        est, lo, hi = _disp(self.info, [p["estimate"], p["ci_low"], p["ci_high"]], size)
        self.rows.append(Row("pooled", cells, est, lo, hi, weight, model))

    def prediction(self, res: Any) -> None:
        s = summary_row(res)
        if not (self.style.show_prediction and s["method"] not in COMMON_METHODS and int(s["k"]) >= 3):
            return
        lo, hi = _disp(self.info, [s["pi_low"], s["pi_high"]], pooled_size(self.info, res.to_frame()))
        d = self.digits
        cells = {"label": "Prediction interval", "ci": f"[{fmt_num(float(lo), d)}, {fmt_num(float(hi), d)}]"}
        self.rows.append(Row("pi", cells, NAN, float(lo), float(hi)))

    def texts(self, res: Any, second: Any = None) -> None:
        s = summary_row(res)
        if self.style.show_heterogeneity:
            self.text(het_text(s, self.style.digits))
        if self.style.show_test:
            if second is None:
                self.text(test_text(s))
            else:
                for r in (res, second):
                    sr = summary_row(r)
                    self.text(test_text(sr, model_name(sr)))

    def text(self, span: str) -> None:
        self.rows.append(Row("text", span=span))

    def blank(self) -> None:
        self.rows.append(Row("blank"))

    def group(self, name: str) -> None:
        self.rows.append(Row("group", {"label": str(name)}))

    def extras(self, *, blank: bool = True) -> None:
        ex = self.extra_rows
        if ex is None or len(ex) == 0:
            return
        missing = {"label", "estimate", "ci_low", "ci_high"} - set(ex.columns)
        if missing:
            raise MetaacuInputError(f"argument 'extra_rows' lacks column(s) {sorted(missing)}")
        for i, (_, r) in enumerate(ex.iterrows()):
            try:
                e, lo, hi = (float(r[c]) for c in ("estimate", "ci_low", "ci_high"))
            except (TypeError, ValueError):
                raise MetaacuInputError(
                    f"argument 'extra_rows', row {i} ({r['label']}): estimate and CI must be numbers"
                ) from None
            if not (np.isfinite([e, lo, hi]).all() and lo <= e <= hi):
                raise MetaacuInputError(
                    f"argument 'extra_rows', row {i} ({r['label']}): needs finite estimate, ci_low and ci_high with "
                    f"ci_low <= estimate <= ci_high; got {e:g}, {lo:g}, {hi:g}"
                )
        if blank:
            self.blank()
        self.rows.append(Row("extra_head", {"label": self.style.extra_header}))
        for _, r in ex.iterrows():
            cells = {"label": str(r["label"]), "ci": self._ci(r["estimate"], r["ci_low"], r["ci_high"], self.size)}
            if "note" in ex.columns and isinstance(r["note"], str):
                cells["note"] = r["note"]
            values = [float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"])]
            est, lo, hi = _disp(self.info, values, self.size)
            self.rows.append(Row("extra", cells, est, lo, hi))

    def table(self) -> Table:
        return Table(self.rows, self.cols, self.measure, self.level)

    # ------------------------------------------------------------------ cells
    def _ci(self, est: float, lo: float, hi: float, size: float | None = None) -> str:
        e, a, b = (float(v) for v in _disp(self.info, [est, lo, hi], size))
        if not np.isfinite(e):  # e.g. a double-zero 2×2 table: no study-level effect (RevMan's words)
            return "Not estimable"
        return format_ci(e, a, b, self.digits)

    def _arm_cells(self, r: pd.Series) -> dict[str, str]:
        out = {}
        for c, _ in self.arms:
            d = self.data_digits[c] if c in ("mean", "sd") else 0
            for g in (1, 2):
                out[f"{c}{g}"] = fmt_num(float(r[f"{c}{g}"]), d)
        return out


def _weight_cell(w: float, digits: int) -> str:
    """``"12.3%"``; empty for a study without weight (a table the pooled estimate leaves out)."""
    return fmt_num(w, digits) + "%" if np.isfinite(w) else ""


def overall_weights(sub: Any) -> list[np.ndarray]:
    """Per group, the study weights (percent) in the overall analysis when its studies line up with
    the groups' (RevMan shows overall weights); otherwise each group's own weights."""
    groups = list(sub.groups.values())
    fr = sub.overall.to_frame()
    ow = fr.loc[fr.row_type == "study", "weight"].to_numpy(float)
    olab = list(fr.loc[fr.row_type == "study", "label"])
    glab = [lab for g in groups for lab in g.to_frame().query("row_type == 'study'")["label"]]
    if olab != glab:
        return [g.to_frame().query("row_type == 'study'")["weight"].to_numpy(float) for g in groups]
    out, i = [], 0
    for g in groups:
        out.append(ow[i : i + g.k])
        i += g.k
    return out


def build_table(
    result: Any,
    *,
    second: Any,
    style: ForestStyle,
    columns: pd.DataFrame | None,
    extra_rows: pd.DataFrame | None,
    sort_by: Any,
    info: Any = None,
) -> Table:
    """Rows for a single analysis or a duck-typed subgroup analysis (``groups``/``overall``), or,
    with ``result=None``, for ``extra_rows`` alone (estimates shown side by side, nothing pooled)."""
    lv = None
    if result is None:
        b = TableBuilder(None, None, style, None, extra_rows, info=info)
        b.extras(blank=False)
        return b.table()
    if sort_by is not None and not isinstance(sort_by, (str, Permutation)):  # one valid key per row, as `columns`
        groups = result.groups.values() if hasattr(result, "groups") else [result]
        key_order(sort_by, [str(lab) for g in groups for lab in g.to_frame().query("row_type == 'study'")["label"]])
    if hasattr(result, "groups") and hasattr(result, "overall"):
        overall = result.overall
        b = TableBuilder(overall, None, style, columns, extra_rows)
        lv = f"{100 * b.level:g}% CI"
        start = 0
        for (name, g), w in zip(result.groups.items(), overall_weights(result), strict=True):
            fr = g.to_frame()
            cols = None if columns is None else columns.iloc[start : start + g.k].reset_index(drop=True)
            keys = sort_keys_of(sort_by, start, g.k)
            start += g.k
            b.group(name)
            b.studies(fr, w, None, cols, keys)
            data = fr[fr.row_type == "study"] if b.arms else None
            b.pooled(g, f"Subtotal ({lv})", float(np.sum(w)), data, "primary")
            b.texts(g)
            b.blank()
        fr = overall.to_frame()
        data = fr[fr.row_type == "study"] if b.arms else None
        b.pooled(overall, f"Total ({lv})", 100.0, data, "primary")
        b.prediction(overall)
        b.extras()
        b.texts(overall)
        b.text(subgroup_test_text(result))
        return b.table()
    b = TableBuilder(result, second, style, columns, extra_rows)
    lv = f"{100 * b.level:g}% CI"
    fr = result.to_frame()
    w = fr.loc[fr.row_type == "study", "weight"].to_numpy(float)
    w2 = None
    if second is not None:
        fr2 = second.to_frame()
        if list(fr2.loc[fr2.row_type == "study", "label"]) != list(fr.loc[fr.row_type == "study", "label"]):
            raise MetaacuInputError("argument 'second' must be fitted to the same studies as `result`")
        w2 = fr2.loc[fr2.row_type == "study", "weight"].to_numpy(float)
    b.studies(fr, w, w2, columns, sort_by)
    data = fr[fr.row_type == "study"] if b.arms else None
    if second is None:
        b.pooled(result, f"Total ({lv})", 100.0, data, "primary")
    else:
        s0, s1 = summary_row(result), summary_row(second)
        b.pooled(result, f"Total, {model_name(s0)} ({lv})", 100.0, data, "primary")
        b.pooled(second, f"Total, {model_name(s1)} ({lv})", 100.0, None, "second", "weight2")
    b.prediction(result if summary_row(result)["method"] not in COMMON_METHODS or second is None else second)
    b.extras()
    b.texts(result, second)
    return b.table()
