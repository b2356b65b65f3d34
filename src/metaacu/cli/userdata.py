"""The user's files for ``metaacu pool``: reading the CSV, checking its rows, writing the results.

Every cell keeps its file line, and every problem names the file, the line, the column and the fix.
A file that cannot be read as a table (missing, empty, not text in the given encoding, ragged lines,
a cell that is not a number) raises :class:`metaacu.MetaacuInputError` with a one-line message.  A
*row* that can be read but not used (a missing value, a zero SD ...) is no error: :func:`screen_rows`
gives its reasons and the caller lists it with its line.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metaacu import MetaacuInputError

if TYPE_CHECKING:
    from metaacu.binary import BinaryPooled
    from metaacu.results import MetaAnalysis
    from metaacu.subgroups import SubgroupAnalysis

__all__ = [
    "BINARY",
    "CONTINUOUS",
    "MISSING_TOKENS",
    "CsvTable",
    "read_csv",
    "screen_rows",
    "write_outputs",
    "zero_cells",
]

#: Roles (summary-data columns) of the continuous and the 2x2 measures.
CONTINUOUS = ("mean1", "sd1", "n1", "mean2", "sd2", "n2")
BINARY = ("events1", "n1", "events2", "n2")

#: Cells read as a missing value (compared case-insensitively, after stripping blanks).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "."})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class CsvTable:
    """A CSV file read as text: header, data rows and the line in the file where each row starts.

    Attributes
    ----------
    path : Path
        The file.
    header : tuple of str
        Column names (blanks stripped).
    rows : tuple of tuple of str
        The data rows, blank lines left out; every row has one cell per column.
    lines : tuple of int
        Line number in the file (1 = the header) where each row starts.
    delimiter : str
        ``","``, or ``";"`` / tab when the header line has no comma but one of those.
    header_line : int
        Line number of the header (1 unless blank lines come first).
    """

    path: Path
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    delimiter: str = ","
    header_line: int = 1

    def no_column(self, name: str, option: str) -> MetaacuInputError:
        """The error for a column ``name`` (given by ``option``) that the header does not have."""
        return MetaacuInputError(
            f"{self.path}: line {self.header_line} (header): no column {name!r} (given by "
            f"{option}); the columns are {', '.join(self.header)}"
        )

    @property
    def n_rows(self) -> int:
        """Number of data rows."""
        return len(self.rows)

    def find(self, names: Sequence[str]) -> str | None:
        """The first column called one of ``names`` (exact match first, then ignoring case), or None."""
        for name in names:
            if name in self.header:
                return name
        folded = {h.casefold(): h for h in self.header}
        for name in names:
            if name.casefold() in folded:
                return folded[name.casefold()]
        return None

    def text(self, column: str) -> list[str]:
        """The cells of ``column`` as stripped strings."""
        j = self.header.index(column)
        return [row[j].strip() for row in self.rows]

    def numbers(self, column: str) -> NDArray[np.float64]:
        """The cells of ``column`` as floats, NaN for a missing value (see :data:`MISSING_TOKENS`).

        Raises
        ------
        MetaacuInputError
            At the first cell that is neither a number nor a missing value, naming its line and column.
        """
        out = np.empty(self.n_rows)
        for i, cell in enumerate(self.text(column)):
            if cell.casefold() in MISSING_TOKENS:
                out[i] = np.nan
            elif _NUMBER.fullmatch(cell):
                out[i] = float(cell)
            else:
                hint = " (use a decimal point, not a comma)" if re.fullmatch(r"[+-]?\d+,\d+", cell) else ""
                raise MetaacuInputError(
                    f"{self.path}: line {self.lines[i]}, column {column!r}: {cell!r} is not a number{hint}; "
                    "correct the cell, or leave it empty (or NA) for a missing value"
                )
        return out


def _decode(path: Path, data: bytes, encoding: str) -> str:
    if data[:4] == b"PK\x03\x04":
        raise MetaacuInputError(
            f"{path}: line 1: this is a zip file (e.g. an Excel .xlsx workbook), not a CSV text file; "
            "save the sheet as 'CSV UTF-8 (comma delimited)' and pass that file"
        )
    enc = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        return data.decode(enc)
    except LookupError:
        raise MetaacuInputError(
            f"{path}: unknown encoding {encoding!r} (given by --encoding); use e.g. utf-8, cp1252 or latin-1"
        ) from None
    except UnicodeDecodeError as exc:
        line_no = data[: exc.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        first = data.split(b"\n", 1)[0]
        sep = next((d for d in (b",", b";", b"\t") if d in first), b",")
        header = first.decode(enc, errors="replace").strip().split(sep.decode())
        col_idx = data[line_start : exc.start].count(sep)
        column = f", column {header[col_idx].strip()!r}" if line_no > 1 and col_idx < len(header) else ""
        raise MetaacuInputError(
            f"{path}: line {line_no}{column}: byte 0x{data[exc.start]:02x} is not valid {encoding}; save the "
            "file as UTF-8 (e.g. Excel: 'CSV UTF-8'), or give its encoding with --encoding cp1252 (or latin-1)"
        ) from None


def read_csv(path: str | Path, *, encoding: str = "utf-8") -> CsvTable:
    """Read ``path`` as a CSV table with a header line.

    Parameters
    ----------
    path : str or Path
        The file.
    encoding : str
        Text encoding (a UTF-8 byte-order mark is skipped).

    Returns
    -------
    CsvTable

    Raises
    ------
    MetaacuInputError
        The file is missing, empty, not text in ``encoding``, has no data line, has a duplicated or
        empty column name, or a line with more or fewer cells than the header.  The message names
        the file and line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("study,yi,vi\\nA,0.1,0.02\\n\\nB,NA,0.03\\n", encoding="utf-8")
    >>> t = read_csv(p)
    >>> t.header, t.lines, t.numbers("yi").tolist()
    (('study', 'yi', 'vi'), (2, 4), [0.1, nan])
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise MetaacuInputError(f"{p}: no such file; check the path (relative paths start at {Path.cwd()})") from None
    except IsADirectoryError:
        raise MetaacuInputError(f"{p}: is a folder, not a file; give the CSV file inside it") from None
    except OSError as exc:
        raise MetaacuInputError(f"{p}: cannot be read ({exc.strerror}); check the path and its permissions") from None
    text = _decode(p, data, encoding)
    if not text.strip():
        raise MetaacuInputError(
            f"{p}: line 1: the file is empty; it needs a header line with the column names and one line per study"
        )
    first = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or all(not c.strip() for c in record):
                continue  # a blank line is no study
            if header is None:
                header, header_line = [c.strip() for c in record], line
                _check_header(p, header, line)
                continue
            if len(record) != len(header):
                raise MetaacuInputError(
                    f"{p}: line {line}: {len(record)} cells but the header (line {header_line}) names "
                    f"{len(header)} columns; give every line one cell per column (quote cells that contain "
                    f"{delimiter!r})"
                )
            rows.append(tuple(record))
            lines.append(line)
    except csv.Error as exc:
        raise MetaacuInputError(
            f"{p}: line {reader.line_num}: not readable as CSV ({exc}); save the file as plain CSV text"
        ) from None
    if header is None:
        raise MetaacuInputError(f"{p}: line 1: no header line (only empty cells); the first line must name the columns")
    if not rows:
        raise MetaacuInputError(f"{p}: line {header_line}: only a header line, no study lines; add one line per study")
    return CsvTable(p, tuple(header), tuple(rows), tuple(lines), delimiter, header_line)


def _check_header(path: Path, header: list[str], line: int) -> None:
    seen: set[str] = set()
    for j, name in enumerate(header):
        if not name:
            raise MetaacuInputError(
                f"{path}: line {line} (header): column {j + 1} has no name; give every column a name"
            )
        if name.casefold() in seen:
            raise MetaacuInputError(
                f"{path}: line {line} (header): column name {name!r} appears twice; rename one of them"
            )
        seen.add(name.casefold())


# ----------------------------------------------------------------------------- rows that cannot be used
def zero_cells(v: dict[str, NDArray[np.float64]]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per 2x2 table: a zero cell (but not double zero), and double zero (no events, or only events,
    in both groups).

    Examples
    --------
    >>> one, both = zero_cells({"events1": np.array([0., 0., 3.]), "n1": np.array([10., 10., 10.]),
    ...                         "events2": np.array([2., 0., 4.]), "n2": np.array([10., 12., 10.])})
    >>> one.tolist(), both.tolist()
    ([True, False, False], [False, True, False])
    """
    a, c = v["events1"], v["events2"]
    b, d = v["n1"] - a, v["n2"] - c
    both = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    return ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~both, both


def screen_rows(
    columns: dict[str, str],
    values: dict[str, NDArray[np.float64]],
    mode: str,
    measure: str,
    *,
    double_zero: str = "metafor",
) -> list[list[str]]:
    """Why each study cannot be used: one list of reasons per row, empty when the row is fine.

    Parameters
    ----------
    columns : dict
        Role (``"mean1"``, ``"events1"``, ``"yi"`` ...) to column name, for the messages.
    values : dict
        Role to the column's numbers (NaN = missing), one per row.
    mode : {"summary", "effects", "mh", "peto"}
        Effect sizes from summary data, precomputed ``yi``/``vi`` or ``sei``, Mantel-Haenszel, Peto.
    measure : str
        Measure code (``GEN`` for plain effects).
    double_zero : {"metafor", "revman"}
        ``"revman"`` leaves out 2x2 tables without events (or with only events) in both groups, as
        RevMan does for RR, OR and Peto; metafor keeps them (with 1/2 added to every cell).

    Returns
    -------
    list of list of str

    Examples
    --------
    >>> import numpy as np
    >>> screen_rows({"yi": "yi", "vi": "v"}, {"yi": np.array([0.1, np.nan]), "vi": np.array([0.0, 0.1])},
    ...             "effects", "GEN")
    [['v = 0: a sampling variance must be > 0'], ["missing value in column 'yi'"]]
    """
    n = len(next(iter(values.values())))
    reasons: list[list[str]] = [[] for _ in range(n)]

    def flag(mask: NDArray[np.bool_], text: Any) -> None:
        for i in np.flatnonzero(mask):
            reasons[i].append(text(i))

    col, v = columns, values
    fin = {r: np.isfinite(x) for r, x in v.items()}
    for r, x in v.items():
        flag(np.isnan(x), lambda i, c=col[r]: f"missing value in column {c!r}")
        flag(np.isinf(x), lambda i, c=col[r]: f"{c} is too large to be a number")
    with np.errstate(invalid="ignore"):
        if mode == "effects":
            var = "vi" if "vi" in v else "sei"
            what = "a sampling variance" if var == "vi" else "a standard error"
            flag(fin[var] & (v[var] <= 0), lambda i: f"{col[var]} = {v[var][i]:g}: {what} must be > 0")
        elif set(CONTINUOUS) <= set(v):
            for r in ("n1", "n2"):
                flag(
                    fin[r] & (v[r] < 2),
                    lambda i, r=r: f"{col[r]} = {v[r][i]:g}: a group needs at least 2 participants for an SD",
                )
            for r in ("sd1", "sd2"):
                flag(fin[r] & (v[r] <= 0), lambda i, r=r: f"{col[r]} = {v[r][i]:g}: an SD must be > 0")
            if measure == "ROM":
                flag(
                    fin["mean1"] & fin["mean2"] & (v["mean1"] * v["mean2"] <= 0),
                    lambda i: (
                        f"{col['mean1']} = {v['mean1'][i]:g}, {col['mean2']} = {v['mean2'][i]:g}: a ratio of means "
                        "needs two means of the same sign"
                    ),
                )
        else:
            for r in BINARY:
                low = 1 if r.startswith("n") else 0
                flag(fin[r] & (v[r] != np.round(v[r])), lambda i, r=r: f"{col[r]} = {v[r][i]:g} is not a whole number")
                flag(fin[r] & (v[r] < low), lambda i, r=r, low=low: f"{col[r]} = {v[r][i]:g} must be >= {low}")
            for e, t in (("events1", "n1"), ("events2", "n2")):
                flag(
                    fin[e] & fin[t] & (v[e] > v[t]),
                    lambda i, e=e, t=t: f"{col[e]} = {v[e][i]:g} is more than {col[t]} = {v[t][i]:g}",
                )
            if double_zero == "revman":
                ok = np.array([not r for r in reasons])
                flag(
                    ok & zero_cells(v)[1],
                    lambda i: (
                        f"no events in both groups (or events in everyone): {measure} not estimable; left out "
                        "as RevMan does"
                    ),
                )
    return reasons


# ----------------------------------------------------------------------------- results
def _pooled_frame(res: MetaAnalysis | BinaryPooled) -> pd.DataFrame:
    if hasattr(res, "summary_frame"):
        return res.summary_frame()
    names = (
        "method",
        "measure",
        "level",
        "k",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "statistic",
        "pvalue",
        "q",
        "q_df",
        "q_pvalue",
        "i2",
        "h2",
        "k_heterogeneity",
        "cmh",
        "cmh_pvalue",
    )
    return pd.DataFrame([{name: getattr(res, name) for name in names if hasattr(res, name)}])


def _plots(out: Path, res: MetaAnalysis | BinaryPooled, sub: SubgroupAnalysis | None) -> tuple[list[Path], list[str]]:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # files only: no window
    import matplotlib.pyplot as plt

    import metaacu
    from metaacu.plots import forest_plot, funnel_plot, save_figure

    written: list[Path] = []
    notes: list[str] = []
    for name, draw, obj in (("forest", forest_plot, sub if sub is not None else res), ("funnel", funnel_plot, res)):
        try:
            fig = draw(obj).figure
        except (AttributeError, TypeError, KeyError, ValueError, NotImplementedError) as exc:
            if isinstance(res, metaacu.MetaAnalysis):
                raise
            notes.append(
                f"Note: no {name} plot: this version of metaacu cannot draw one for a {res.method} "
                f"result ({type(exc).__name__}: {exc}); the table and summary are written"
            )
            continue
        try:
            written += [save_figure(fig, out / f"{name}.{ext}") for ext in ("png", "svg", "pdf")]
        finally:
            plt.close(fig)
    return written, notes


def write_outputs(
    out: Path,
    text: str,
    res: MetaAnalysis | BinaryPooled,
    sub: SubgroupAnalysis | None,
    lines: list[int],
    groups: list[str] | None,
    *,
    plots: bool = True,
) -> list[str]:
    """Write the results of ``metaacu pool`` into the folder ``out``.

    Files: ``table.csv`` (``res.to_frame()``: one row per study, then the pooled row, with each study's
    ``csv_line`` and ``subgroup``), ``pooled.csv`` (every pooled statistic), ``subgroups.csv`` (with
    subgroups: one row per subgroup and overall, and the test for subgroup differences),
    ``summary.txt`` (``text``) and ``forest``/``funnel`` plots as PNG, SVG and PDF.

    Parameters
    ----------
    out : Path
        The folder (made if missing).
    text : str
        The printed report.
    res : MetaAnalysis or BinaryPooled
        The (overall) model.
    sub : SubgroupAnalysis or None
    lines : list of int
        CSV line of each study in ``res``, in its order.
    groups : list of str or None
        Subgroup of each study.
    plots : bool
        Draw and save the plots.

    Returns
    -------
    list of str
        Lines to print: what was written, and why a plot was not.

    Raises
    ------
    MetaacuInputError
        If the folder cannot be made or a file cannot be written.

    Examples
    --------
    >>> import tempfile, metaacu
    >>> res = metaacu.meta_analysis([0.1, 0.3], [0.02, 0.03], labels=["A", "B"])
    >>> write_outputs(Path(tempfile.mkdtemp()), "summary", res, None, [2, 3], None, plots=False)  # doctest: +ELLIPSIS
    ['Wrote into ...: table.csv, pooled.csv, summary.txt']
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        frame = res.to_frame()
        study = (frame["row_type"] == "study").to_numpy()
        csv_line = pd.array([pd.NA] * len(frame), dtype="Int64")
        csv_line[study] = lines
        frame.insert(2, "csv_line", pd.Series(csv_line, index=frame.index))
        if groups is not None:
            subgroup = pd.array([pd.NA] * len(frame), dtype="string")
            subgroup[study] = groups
            frame.insert(3, "subgroup", pd.Series(subgroup, index=frame.index))
        frame.to_csv(out / "table.csv", index=False)
        _pooled_frame(res).to_csv(out / "pooled.csv", index=False)
        names = ["table.csv", "pooled.csv"]
        if sub is not None:
            sf = sub.to_frame()
            for key in ("q_between", "q_between_df", "q_between_pvalue"):
                sf[key] = sf.attrs[key]
            sf.to_csv(out / "subgroups.csv", index=False)
            names.append("subgroups.csv")
        (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
        names.append("summary.txt")
        figures, notes = _plots(out, res, sub) if plots else ([], [])
    except OSError as exc:
        raise MetaacuInputError(
            f"--out {out}: cannot write the results ({exc.strerror or exc}); choose a folder you can write to"
        ) from None
    names += [p.name for p in figures]
    return [f"Wrote into {out}: {', '.join(names)}", *notes]
