"""Within-row checks of the extraction tables, each a small rule with its own message.

:func:`check_rows` runs, for every row of a typed table, the checks of :data:`ROW_CHECKS` in order:
provenance (public source; a derivation exactly when the values are derived), a verdict where a fact
is judged, events within totals, the interval (both bounds or neither, non-zero width, ordered, the
estimate inside it, > 0 for ratios), quartiles and scale bounds, and percentages.  The first failure
raises :class:`~metaacu._validation.MetaacuInputError` naming file, line and column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

import pandas as pd

from .csvio import located as _err

__all__ = ["ID_COLUMN", "NOT_PUBLIC", "RATIO_MEASURES", "ROW_CHECKS", "cell_value", "check_ratio", "check_rows"]

#: Measures analysed on the log scale: estimate and both CI bounds must be > 0.
RATIO_MEASURES: Final = frozenset({"RR", "OR", "HR", "ratio_of_means"})
#: Text that marks a source as not public: search-tool ids and local files.
NOT_PUBLIC: Final = ("find_string", "index id", "/work/", "file://", "article.txt")
#: The id column of each table (``row_id`` where not listed).
ID_COLUMN: Final = {"studies": "study_id", "arms": "arm_id", "pooled_results": "analysis_id"}


def cell_value(frame: pd.DataFrame, i: int, col: str) -> float | None:
    """The number in row ``i``, column ``col``; ``None`` when the column is absent or the cell empty."""
    if col not in frame.columns:
        return None
    v = frame[col].iloc[i]
    return None if pd.isna(v) else float(v)


def check_ratio(path: Path, line: int, measure: str, values: dict[str, float | None]) -> None:
    """A ratio (analysed on the log scale) and its CI bounds must be > 0."""
    for column, v in values.items():
        if v is not None and v <= 0:
            raise _err(
                path,
                line,
                column,
                f"{measure} is a ratio (analysed on the log scale), so {column} must be > 0, got {v:g}",
            )


class _Row:
    """One row being checked: where it is and how to read its cells."""

    __slots__ = ("frame", "i", "line", "path", "table")

    def __init__(self, path: Path, table: str, frame: pd.DataFrame, i: int, line: int) -> None:
        self.path, self.table, self.frame, self.i, self.line = path, table, frame, i, line

    def get(self, col: str) -> float | None:
        return cell_value(self.frame, self.i, col)

    def text(self, col: str) -> str | None:
        """The text in column ``col`` (a text column); ``None`` when the cell is empty."""
        v = self.frame[col].iloc[self.i]
        return None if pd.isna(v) else str(v)

    def fail(self, column: str, message: str) -> None:
        raise _err(self.path, self.line, column, message)


def _provenance(r: _Row) -> None:
    status = r.text("status")
    has_derivation_column = "derivation" in r.frame.columns
    derivation = r.text("derivation") if has_derivation_column else None
    if status != "stated" and has_derivation_column and derivation is None:
        r.fail("derivation", "status is not 'stated' so a derivation is required")
    if status == "stated" and derivation is not None:
        r.fail("status", "a row with a derivation holds derived values: status must be 'derived' or 'mixed'")
    source = str(r.text("source"))
    if any(bad in source for bad in NOT_PUBLIC):
        r.fail("source", f"{source!r} is not a public address (a DOI, PMID or web page is required)")


def _fact_verdict(r: _Row) -> None:
    if r.table == "facts" and (r.text("comparison") == "judged") == (r.text("verdict") is None):
        r.fail("verdict", "a verdict is required when comparison is 'judged' and must be empty when it is 'equal'")


def _events_within_totals(r: _Row) -> None:
    for ev, tot in (("events", "total"), ("events1", "total1"), ("events2", "total2")):
        e, t = r.get(ev), r.get(tot)
        if e is not None and t is not None and e > t:
            r.fail(ev, f"events {e:g} exceed {tot} {t:g}")


def _interval(r: _Row) -> None:
    centre = {"outcomes": "mean", "mechanism": "value"}.get(r.table, "estimate")
    lo, est, hi = r.get("ci_low"), r.get(centre), r.get("ci_high")
    if "measure" in r.frame.columns and r.text("measure") in RATIO_MEASURES:
        check_ratio(r.path, r.line, str(r.text("measure")), {"estimate": est, "ci_low": lo, "ci_high": hi})
    if (lo is None) != (hi is None):
        given, empty = ("ci_low", "ci_high") if hi is None else ("ci_high", "ci_low")
        r.fail(empty, f"{empty} is empty but {given} is given: give both CI bounds or neither")
    if lo is None or hi is None:
        return
    if lo == hi:
        r.fail("ci_high", f"zero-width CI (ci_low = ci_high = {lo:g}) gives no standard error")
    if lo > hi:
        r.fail("ci_low", f"ci_low {lo:g} > ci_high {hi:g}")
    if est is not None and est < lo:
        r.fail(centre, f"{centre} {est:g} below ci_low {lo:g}")
    if est is not None and est > hi:
        r.fail(centre, f"{centre} {est:g} above ci_high {hi:g}")


def _quartiles_and_scale(r: _Row) -> None:
    q1, med, q3 = r.get("q1"), r.get("median"), r.get("q3")
    if med is not None and ((q1 is not None and q1 > med) or (q3 is not None and med > q3)):
        r.fail("median", "median must lie between q1 and q3")
    smin, smax = r.get("scale_min"), r.get("scale_max")
    if smin is not None and smax is not None and smin >= smax:
        r.fail("scale_min", "scale_min must be < scale_max")
    if r.table == "outcomes" and r.text("value_type") != "change":
        m = r.get("mean")
        if m is not None and smin is not None and smax is not None and not smin <= m <= smax:
            r.fail("mean", f"mean {m:g} outside scale [{smin:g}, {smax:g}]")


def _percentages(r: _Row) -> None:
    for col in ("percent", "i2", "weight"):
        v = r.get(col)
        if v is not None and not 0 <= v <= 100:
            r.fail(col, f"must lie in [0, 100], got {v:g}")


#: The within-row checks, in the order they run.
ROW_CHECKS: Final[tuple[Callable[[_Row], None], ...]] = (
    _provenance,
    _fact_verdict,
    _events_within_totals,
    _interval,
    _quartiles_and_scale,
    _percentages,
)


def check_rows(path: Path, table: str, frame: pd.DataFrame, lines: list[int]) -> None:
    """Unique ids, then every check of :data:`ROW_CHECKS` on every row (``lines``: CSV line of each)."""
    id_col = ID_COLUMN.get(table, "row_id")
    dup = frame[id_col].duplicated(keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise _err(path, lines[i], id_col, f"duplicate id {frame[id_col].iloc[i]!r}")
    for i, line in enumerate(lines):
        row = _Row(path, table, frame, i, line)
        for check in ROW_CHECKS:
            check(row)
