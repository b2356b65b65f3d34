"""The audit's loaders refuse, at load time and with file, line and column, what the audit would trip on.

Every test copies the bundled data folder, changes one cell (or one byte, or one file) and checks the
loader's answer.  See data/README.md, "File format and validation".
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from metaacu import MetaacuInputError
from metaacu.audit import default_data_dir, load_dataset, load_registry
from metaacu.audit.data import SCHEMAS, load_outcomes, load_studies
from metaacu.audit.rowchecks import ID_COLUMN

DATA = default_data_dir()
SHIN = "shin2013_nrs_w02chg_msat"  # outcomes row with n, mean and sd, used by a claim
LEE_RR = "lee2013_vs_nsaids_global_improvement"  # pooled RR 1.11 (1.06 to 1.16)
VICKERS = "vickers2018_t7_noacu_usual_care"  # pooled SMD 0.5 (0.4 to 0.6), a deciding row


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of the data folder (tables and claims.toml)."""
    target = tmp_path / "data"
    target.mkdir()
    for f in DATA.iterdir():
        if f.suffix in (".csv", ".toml"):
            shutil.copy(f, target / f.name)
    return target


def _set(folder: Path, table: str, row_id: str, **cells: str) -> int:
    """Set cells of the row with id ``row_id``; return that row's CSV line number (header = 1)."""
    path = folder / f"{table}.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, key = rows[0], rows[0].index(ID_COLUMN.get(table, "row_id"))
    [row] = [r for r in rows[1:] if r[key] == row_id]
    for column, value in cells.items():
        assert row[header.index(column)] != value, "the edit must change the cell"
        row[header.index(column)] = value
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        for r in reader:
            if r[key] == row_id:
                return reader.line_num
    raise AssertionError(row_id)


def _get(table: str, row_id: str, column: str) -> str:
    with open(DATA / f"{table}.csv", newline="", encoding="utf-8") as fh:
        [row] = [r for r in csv.DictReader(fh) if r[ID_COLUMN.get(table, "row_id")] == row_id]
    return row[column]


def _refused(folder: Path, table: str, line: int, column: str, fragment: str) -> str:
    with pytest.raises(MetaacuInputError) as info:
        load_dataset(folder)
    msg = str(info.value)
    assert msg.startswith(f"{table}.csv, line {line}, column {column!r}: "), msg
    assert fragment in msg, msg
    return msg


# ---------------------------------------------------------------- the bundled data
def test_bundled_data_load_unchanged() -> None:
    """Every typed cell equals the text in the file, read the plain way; the registry loads on top."""
    ds = load_dataset()
    for table, schema in SCHEMAS.items():
        raw = pd.read_csv(DATA / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
        frame = getattr(ds, table)
        assert len(frame) == len(raw) > 0, table
        for column, (kind, _, _) in schema.items():
            for got, text in zip(frame[column], raw[column], strict=True):
                if text == "":
                    assert pd.isna(got), (table, column)
                elif kind in ("int", "float"):
                    assert float(got) == float(text), (table, column, text)
                elif kind == "bool":
                    assert bool(got) == (text == "true"), (table, column)
                else:
                    assert got == text, (table, column)
    assert load_registry(dataset=ds)["claim"]


def test_bom_is_tolerated(folder: Path) -> None:
    for f in folder.iterdir():
        f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    got, want = load_dataset(folder), load_dataset(DATA)
    for table in SCHEMAS:
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table))
    assert load_registry(folder / "claims.toml", dataset=got)["claim"]


# ---------------------------------------------------------------- CIs and arm sizes
@pytest.mark.parametrize("column", ["ci_low", "estimate"])
def test_ratio_bound_of_zero(folder: Path, column: str) -> None:
    line = _set(folder, "pooled_results", LEE_RR, **{column: "0"})
    _refused(folder, "pooled_results", line, column, "RR is a ratio (analysed on the log scale), so")


def test_ratio_of_review_trial_rows(folder: Path) -> None:
    """A trial row of a ratio analysis (here re-pointed to the RR analysis) needs a positive estimate."""
    line = _set(folder, "review_trials", "macpherson2017_t3_01", analysis_id=LEE_RR)
    _refused(folder, "review_trials", line, "estimate", "must be > 0, got -0.05")


def test_degenerate_ci(folder: Path) -> None:
    est = _get("pooled_results", VICKERS, "estimate")
    line = _set(folder, "pooled_results", VICKERS, ci_low=est, ci_high=est)
    _refused(folder, "pooled_results", line, "ci_high", "zero-width CI (ci_low = ci_high = 0.5)")


@pytest.mark.parametrize(("empty", "given"), [("ci_high", "ci_low"), ("ci_low", "ci_high")])
def test_missing_ci_bound(folder: Path, empty: str, given: str) -> None:
    line = _set(folder, "pooled_results", VICKERS, **{empty: ""})
    _refused(folder, "pooled_results", line, empty, f"{empty} is empty but {given} is given")


@pytest.mark.parametrize(
    ("table", "row_id", "column"), [("outcomes", SHIN, "n"), ("arms", "shin2013_msat", "n_randomised")]
)
def test_arm_of_one(folder: Path, table: str, row_id: str, column: str) -> None:
    line = _set(folder, table, row_id, **{column: "1"})
    _refused(folder, table, line, column, "an arm needs at least 2 patients")


def test_header_only_file(folder: Path) -> None:
    path = folder / "mechanism.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    _refused(folder, "mechanism", 2, "<row>", "header but no data rows")


# ---------------------------------------------------------------- number format
@pytest.mark.parametrize(
    ("table", "row_id", "column", "value", "kind"),
    [
        ("outcomes", SHIN, "n", "2_9", "int"),  # int() takes underscores
        ("outcomes", SHIN, "mean", "4_5", "float"),
        ("outcomes", SHIN, "n", "\u0662\u0669", "int"),  # Arabic-Indic 29: int() takes Unicode digits
        ("outcomes", SHIN, "mean", "\u0664.\u0665", "float"),
        ("outcomes", SHIN, "mean", "+4.5", "float"),
        ("outcomes", SHIN, "mean", "nan", "float"),
        ("outcomes", SHIN, "mean", "4,5", "float"),
        ("studies", "shin2013", "followup_weeks", "\u0662;\u0662\u0664", "weeks"),
        ("contrasts", "shin2013_nrs_w02chg_msat_vs_nsaid", "pvalue", "0.\u0660\u0663", "pvalue"),
    ],
)
def test_only_ascii_decimal_numbers(folder: Path, table: str, row_id: str, column: str, value: str, kind: str) -> None:
    line = _set(folder, table, row_id, **{column: value})
    _refused(folder, table, line, column, f"cannot read {value!r} as {kind}")


def test_exponent_notation_is_accepted(folder: Path) -> None:
    text = _get("outcomes", SHIN, "mean")
    _set(folder, "outcomes", SHIN, mean=f"{text}e0")
    got = load_outcomes(folder / "outcomes.csv").set_index("row_id").loc[SHIN, "mean"]
    assert got == float(text)


@pytest.mark.parametrize("digits", [30, 5000])
def test_overlong_integer(folder: Path, digits: int) -> None:
    line = _set(folder, "outcomes", SHIN, n="9" * digits)
    msg = _refused(folder, "outcomes", line, "n", "too large")
    assert len(msg) < 300


# ---------------------------------------------------------------- encoding
def test_latin1_byte_in_csv(folder: Path) -> None:
    text = _get("arms", "shin2013_msat", "description")
    line = _set(folder, "arms", "shin2013_msat", description=text + " MARK")
    path = folder / "arms.csv"
    path.write_bytes(path.read_bytes().replace(b" MARK", " café".encode("latin-1")))
    raw = path.read_bytes()
    at = raw.index(b"\xe9")
    column = at - raw.rfind(b"\n", 0, at)  # 1-based byte within its line
    where = f"byte 0xe9 at byte {column} of the line (offset {at} in the file) is not valid UTF-8"
    msg = _refused(folder, "arms", line, "description", where)
    assert "must be UTF-8" in msg


def test_latin1_byte_in_registry(folder: Path) -> None:
    path = folder / "claims.toml"
    raw = path.read_bytes()
    at = raw.index(b'label = "half a standard deviation"')
    line = raw.count(b"\n", 0, at) + 1
    path.write_bytes(raw.replace(b"half a standard", "half à standard".encode("latin-1"), 1))
    with pytest.raises(MetaacuInputError) as info:
        load_registry(path, dataset=load_dataset(folder))
    msg = str(info.value)
    assert msg.startswith(f"claims.toml, line {line}: byte 0xe0 at byte {len('label = ') + 7} of the line"), msg
    assert "not valid UTF-8" in msg and "must be UTF-8" in msg


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: load_dataset(5), "directory"),
        (lambda: load_studies(5), "path"),
        (lambda: load_registry(5), "path"),
        (lambda: load_registry(DATA / "claims.toml", dataset=5), "dataset"),
    ],
)
def test_non_path_argument(call, argument: str) -> None:
    with pytest.raises(MetaacuInputError) as info:
        call()
    msg = str(info.value)
    assert f"argument {argument!r} must be" in msg and "got int" in msg, msg
    if argument != "dataset":
        assert "str or os.PathLike" in msg
