"""Schema, bad-input and consistency tests for the extraction dataset in ``data/``."""

from __future__ import annotations

import csv
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
try:  # the package may not be installed in a bare checkout
    import metaacu.audit.data  # noqa: F401
except ModuleNotFoundError:  # pragma: no cover
    sys.path.insert(0, str(ROOT / "src"))

from metaacu._validation import MetaacuInputError  # noqa: E402
from metaacu.audit.data import SCHEMAS, Dataset, load_arms, load_dataset, load_outcomes  # noqa: E402

DATA = ROOT / "data"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def _t_sf(t: float, df: int) -> float:
    """Upper tail of Student's t (numerical integration; avoids a SciPy dependency)."""
    t = abs(t)
    x = np.linspace(0.0, t, 20001)
    logc = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    dens = np.exp(logc - (df + 1) / 2 * np.log1p(x**2 / df))
    area = float(np.sum((dens[1:] + dens[:-1]) / 2 * np.diff(x)))
    return 0.5 - area


def _t_quantile(p: float, df: int) -> float:
    lo, hi = 0.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 1 - _t_sf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


# ---------------------------------------------------------------- schema on shipped data
def test_every_table_loads_with_schema_columns(ds: Dataset) -> None:
    for name, schema in SCHEMAS.items():
        frame = getattr(ds, name)
        assert list(frame.columns) == list(schema), name
    assert len(ds.studies) >= 11 and len(ds.arms) >= 14 and len(ds.outcomes) >= 20


def test_all_article_references_present(ds: Dataset) -> None:
    wanted = {
        "cherkin2009",
        "chung2003",
        "guerreirodasilva2004",
        "inoue2009",
        "inoue2006",
        "kvorning2004",
        "lee2013",
        "manheimer2005",
        "shin2013",
        "takano2012",
        "vickers2018",
    }
    assert wanted <= set(ds.studies["study_id"])


def test_cherkin_keeps_all_four_arms(ds: Dataset) -> None:
    arms = ds.arms[ds.arms["study_id"] == "cherkin2009"]
    assert set(arms["arm_role"]) == {"acupuncture", "sham", "usual_care"}
    assert len(arms) == 4
    rmdq8 = ds.outcomes[
        (ds.outcomes["study_id"] == "cherkin2009")
        & (ds.outcomes["instrument"] == "RMDQ")
        & (ds.outcomes["timepoint_weeks"] == 8)
        & (ds.outcomes["value_type"] == "final")
    ]
    assert set(rmdq8["arm_id"]) == set(arms["arm_id"])


def test_csvs_are_sorted_utf8_and_diff_friendly() -> None:
    for name in SCHEMAS:
        path = DATA / f"{name}.csv"
        if name in ("pooled_results", "review_trials"):
            continue  # written by the review-level extraction
        raw = path.read_bytes()
        raw.decode("utf-8")
        assert b"\r\n" not in raw and raw.endswith(b"\n"), name
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        ids = [r[1] if name == "arms" else r[0] for r in rows[1:]]
        assert ids == sorted(ids), name


def test_every_row_has_provenance(ds: Dataset) -> None:
    for name in SCHEMAS:
        frame = getattr(ds, name)
        assert frame["source"].notna().all() and frame["locator"].notna().all(), name
        assert frame["status"].isin({"stated", "derived", "mixed", "judged"}).all(), name
        if "derivation" in frame:
            derived = frame["status"] != "stated"
            assert frame.loc[derived, "derivation"].notna().all(), name
            assert frame.loc[~derived, "derivation"].isna().all(), f"{name}: a stated row with a derivation"


def test_default_directory_and_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert len(load_dataset().studies) == len(load_dataset(DATA).studies)
    target = tmp_path / "copy"
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("*.md"))
    (target / "pooled_results.csv").unlink()
    (target / "review_trials.csv").unlink()
    # review_id rows of added reviews stay in studies.csv; empty review files are allowed
    monkeypatch.setenv("METAACU_DATA", str(target))
    got = load_dataset()
    assert got.pooled_results.empty and list(got.review_trials.columns) == list(SCHEMAS["review_trials"])


# ---------------------------------------------------------------- bad input
def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def _edit(path: Path, row_index: int, column: str, value: str) -> int:
    """Set one cell (0-based data row); return the CSV line number of that row."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[row_index + 1][rows[0].index(column)] = value
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return row_index + 2


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "fragment"),
    [
        ("arms", 0, "n_randomised", "0", "count must be >= 1"),
        ("arms", 4, "arm_role", "placebo", "is not one of"),
        ("outcomes", 0, "sd", "-1", "must be > 0"),
        ("outcomes", 0, "mean", "abc", "cannot read"),
        ("outcomes", 0, "source", "", "a value is required"),
        ("outcomes", 0, "status", "guessed", "is not one of"),
        ("outcomes", 0, "higher_is_worse", "yes", "cannot read"),
        ("contrasts", 0, "pvalue", "p<0.05", "cannot read"),
        ("studies", 0, "design", "cohort", "is not one of"),
    ],
)
def test_bad_cell_names_file_line_column(
    tmp_path: Path, table: str, row: int, column: str, value: str, fragment: str
) -> None:
    target = _copy(tmp_path)
    line = _edit(target / f"{table}.csv", row, column, value)
    with pytest.raises(MetaacuInputError) as info:
        load_dataset(target)
    msg = str(info.value)
    assert f"{table}.csv" in msg and f"line {line}" in msg and repr(column) in msg and fragment in msg


def test_events_above_total_rejected(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    frame = pd.read_csv(target / "outcomes.csv", dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(frame["events"] != "")[0])
    line = _edit(target / "outcomes.csv", i, "events", "999")
    with pytest.raises(MetaacuInputError, match=rf"outcomes.csv, line {line}, column 'events'"):
        load_outcomes(target / "outcomes.csv")


def test_estimate_outside_ci_rejected(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    frame = pd.read_csv(target / "contrasts.csv", dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(frame["ci_low"] != "")[0])
    line = _edit(target / "contrasts.csv", i, "estimate", "100")
    with pytest.raises(MetaacuInputError, match=rf"contrasts.csv, line {line}, column 'estimate'"):
        load_dataset(target)


def test_duplicate_id_and_derivation_required(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    line = _edit(target / "arms.csv", 1, "arm_id", "cherkin2009_individualized")
    with pytest.raises(MetaacuInputError, match=rf"arms.csv, line {line}, column 'arm_id'.*duplicate"):
        load_arms(target / "arms.csv")
    target2 = _copy(tmp_path / "b")
    frame = pd.read_csv(target2 / "outcomes.csv", dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(frame["status"] != "stated")[0])
    line = _edit(target2 / "outcomes.csv", i, "derivation", "")
    with pytest.raises(MetaacuInputError, match=rf"line {line}, column 'derivation'"):
        load_outcomes(target2 / "outcomes.csv")


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("arms", "study_id", "nosuch2001"),
        ("outcomes", "arm_id", "shin2013_msat"),
        ("contrasts", "arm_id_exp", "cherkin2009_individualized;ghost_arm"),
        ("review_trials", "analysis_id", "no_such_analysis"),
    ],
)
def test_foreign_keys(tmp_path: Path, table: str, column: str, value: str) -> None:
    target = _copy(tmp_path)
    line = _edit(target / f"{table}.csv", 0, column, value)
    with pytest.raises(MetaacuInputError) as info:
        load_dataset(target)
    assert f"{table}.csv, line {line}, column {column!r}" in str(info.value)


def test_missing_and_unknown_columns(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    frame = pd.read_csv(target / "mechanism.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=["direction"]).to_csv(target / "mechanism.csv", index=False)
    with pytest.raises(MetaacuInputError, match=r"mechanism.csv, line 1, column 'direction'"):
        load_dataset(target)
    frame.assign(extra="x").to_csv(target / "mechanism.csv", index=False)
    with pytest.raises(MetaacuInputError, match=r"mechanism.csv, line 1, column 'extra'"):
        load_dataset(target)


def test_missing_required_file(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "arms.csv").unlink()
    with pytest.raises(MetaacuInputError, match=r"arms\.csv"):
        load_dataset(target)


# ---------------------------------------------------------------- consistency
def test_arm_sizes_add_up_to_randomised_total(ds: Dataset) -> None:
    checked = 0
    for sid, arms in ds.arms.groupby("study_id"):
        total = ds.studies.loc[ds.studies["study_id"] == sid, "n_randomised"].iloc[0]
        if arms["n_randomised"].notna().all() and pd.notna(total):
            assert int(arms["n_randomised"].sum()) == int(total), sid
            checked += 1
    assert checked >= 5


def test_percentages_match_events_over_total(ds: Dataset) -> None:
    o = ds.outcomes
    rows = o[o["percent"].notna() & o["events"].notna() & o["total"].notna()]
    assert len(rows) >= 2
    pct = 100 * rows["events"].astype(float) / rows["total"].astype(float)
    assert (np.abs(pct - rows["percent"].astype(float)) <= 0.5 + 1e-9).all()


def test_percentage_only_rows_keep_no_back_calculated_counts(ds: Dataset) -> None:
    """Counts derived from a percentage are computed by the audit (every consistent denominator), not stored."""
    o = ds.outcomes
    only = o[o["percent"].notna() & o["events"].isna()]
    assert set(only["row_id"]) >= {"kvorning2004_resp_pain_acupuncture", "kvorning2004_resp_activity_control"}
    assert (only["status"] == "stated").all()


def test_change_equals_baseline_minus_followup(ds: Dataset) -> None:
    o = ds.outcomes
    key = ["study_id", "arm_id", "instrument"]
    base = o[o["value_type"] == "baseline"][[*key, "mean"]].rename(columns={"mean": "b"})
    fin = o[o["value_type"] == "final"][[*key, "timepoint_weeks", "mean"]].rename(columns={"mean": "f"})
    chg = o[o["value_type"] == "change"][[*key, "timepoint_weeks", "mean"]].rename(columns={"mean": "c"})
    merged = base.merge(fin, on=key).merge(chg, on=[*key, "timepoint_weeks"])
    assert len(merged) >= 4
    diff = (merged["b"] - merged["f"] - merged["c"]).astype(float).abs()
    assert (diff <= 0.1 + 1e-9).all(), merged  # one decimal place each


def test_derived_se_reproduces_ci_and_pvalue(ds: Dataset) -> None:
    c = ds.contrasts
    rows = c[c["se"].notna() & c["ci_low"].notna()]
    assert len(rows) >= 2
    for _, r in rows.iterrows():
        df = int(r["n_exp"] + r["n_ctl"] - 2)
        tq = _t_quantile(0.975, df)
        assert float(r["ci_low"]) == pytest.approx(r["estimate"] - tq * r["se"], abs=0.01)
        assert float(r["ci_high"]) == pytest.approx(r["estimate"] + tq * r["se"], abs=0.01)
        p = 2 * _t_sf(float(r["estimate"] / r["se"]), df)
        bound = float(str(r["pvalue"]).lstrip("<"))
        assert p < bound


def test_stated_sds_reproduce_reported_pvalues(ds: Dataset) -> None:
    """Shin 2013: arm change means/SDs (Cochrane table) against the p-values given beside them."""
    o, c = ds.outcomes, ds.contrasts
    rows = c[(c["study_id"] == "shin2013") & c["pvalue"].notna() & c["se"].isna()]
    assert len(rows) == 4
    for _, r in rows.iterrows():
        arms = o[
            (o["study_id"] == "shin2013")
            & (o["instrument"] == r["instrument"])
            & (o["timepoint_weeks"] == r["timepoint_weeks"])
            & (o["value_type"] == "change")
        ]
        e = arms[arms["arm_id"] == r["arm_id_exp"]].iloc[0]
        k = arms[arms["arm_id"] == r["arm_id_ctl"]].iloc[0]
        assert float(r["estimate"]) == pytest.approx(float(e["mean"] - k["mean"]), abs=1e-9)
        se = math.sqrt(e["sd"] ** 2 / e["n"] + k["sd"] ** 2 / k["n"])
        p = 2 * _t_sf(float(r["estimate"]) / se, int(e["n"] + k["n"] - 2))
        assert p == pytest.approx(float(r["pvalue"]), abs=0.015), r["row_id"]
