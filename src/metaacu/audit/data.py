"""Load and validate the extraction dataset shipped in ``data/``.

Every CSV is read as text with the :mod:`csv` module (so that the line number of each record is
known), checked cell by cell against a schema, converted to typed pandas columns and then checked
across tables (unique ids, foreign keys).  Any problem raises
:class:`~metaacu._validation.MetaacuInputError` whose message names the file, the CSV line number
(the header is line 1) and the column.  Nothing is dropped or coerced silently.  Files are read through
:mod:`metaacu.audit.csvio` (UTF-8 with an optional byte-order mark; plain ASCII decimal numbers).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from metaacu._validation import MetaacuInputError

from .csvio import as_path, parse_cell, read_csv_records, shorten
from .csvio import located as _err
from .rowchecks import RATIO_MEASURES, cell_value, check_ratio, check_rows
from .schema import (
    ARM_SIZE_COLUMNS,
    COUNT_COLUMNS,
    DTYPES,
    JUDGEMENT_TABLES,
    NONNEG_COLUMNS,
    OPTIONAL_FILES,
    POSITIVE_COLUMNS,
    SCHEMAS,
    Spec,
)

__all__ = [
    "JUDGEMENT_TABLES",
    "RATIO_MEASURES",
    "SCHEMAS",
    "Dataset",
    "default_data_dir",
    "load_adverse_events",
    "load_arms",
    "load_contrasts",
    "load_dataset",
    "load_mechanism",
    "load_outcomes",
    "load_pooled_results",
    "load_review_trials",
    "load_studies",
    "table_row",
]


@dataclass(frozen=True)
class Dataset:
    """All tables of the extraction dataset as typed pandas DataFrames."""

    studies: pd.DataFrame
    arms: pd.DataFrame
    outcomes: pd.DataFrame
    contrasts: pd.DataFrame
    adverse_events: pd.DataFrame
    mechanism: pd.DataFrame
    pooled_results: pd.DataFrame
    review_trials: pd.DataFrame
    risk_of_bias: pd.DataFrame
    certainty: pd.DataFrame
    published_certainty: pd.DataFrame
    fidelity: pd.DataFrame
    facts: pd.DataFrame
    schedules: pd.DataFrame


def table_row(indexed: pd.DataFrame, key: str) -> pd.Series[Any]:
    """The row ``key`` of a table indexed by its id column: ``indexed.loc[key]`` (``KeyError`` if absent)."""
    # ids are unique (load_dataset checks), so .loc of one id is one row; pandas-stubs cannot know that
    return cast("pd.Series[Any]", indexed.loc[key])


def default_data_dir() -> Path:
    """Return the data directory: ``$METAACU_DATA`` if set, else the repository's ``data/``."""
    env = os.environ.get("METAACU_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "data"


def _convert(path: Path, table: str, line: int, column: str, raw: str, spec: Spec) -> object:
    kind, required, allowed = spec
    text = raw.strip()
    if text != raw:
        raise _err(path, line, column, f"leading or trailing whitespace in {shorten(raw)}")
    if text == "":
        if required:
            raise _err(path, line, column, "a value is required")
        return None
    parts = text.split(";") if kind == "ids" else [text]
    if allowed is not None and any(part not in allowed for part in parts):
        raise _err(path, line, column, f"{shorten(text)} is not one of {sorted(allowed)}")
    try:
        value = parse_cell(kind, text)
    except ValueError as exc:
        raise _err(path, line, column, f"cannot read {shorten(text)} as {kind}: {exc}") from None
    if column in COUNT_COLUMNS and isinstance(value, int) and value < 1:
        raise _err(path, line, column, f"count must be >= 1, got {value}")
    if column in ARM_SIZE_COLUMNS.get(table, ()) and isinstance(value, int) and value < 2:
        raise _err(path, line, column, f"an arm needs at least 2 patients (a group of one has no SD), got {value}")
    if column in POSITIVE_COLUMNS and isinstance(value, float) and value <= 0:
        raise _err(path, line, column, f"must be > 0, got {value}")
    if column in NONNEG_COLUMNS and isinstance(value, (int, float)) and value < 0:
        raise _err(path, line, column, f"must be >= 0, got {value}")
    return value


def _read_table(path: Path, table: str) -> tuple[pd.DataFrame, list[int]]:
    """Read one CSV with its schema; return the typed frame and each row's CSV line number."""
    schema = SCHEMAS[table]
    if not path.is_file():
        raise MetaacuInputError(
            f"{path.name}: file not found at {path} (the data live in the repository's data/ folder; "
            "set METAACU_DATA to use another)"
        )
    header, rows = read_csv_records(path)
    missing = [c for c in schema if c not in header]
    if missing:
        raise _err(path, 1, missing[0], "required column is missing")
    extra = [c for c in header if c not in schema]
    if extra:
        raise _err(path, 1, extra[0], "unknown column (would be dropped)")
    if len(set(header)) != len(header):
        raise _err(path, 1, "<header>", "duplicate column name")
    records: list[dict[str, object]] = []
    lines: list[int] = []
    for line, row in rows:
        if len(row) != len(header):
            raise _err(path, line, "<row>", f"expected {len(header)} fields, got {len(row)}")
        records.append(
            {col: _convert(path, table, line, col, raw, schema[col]) for col, raw in zip(header, row, strict=True)}
        )
        lines.append(line)
    frame = pd.DataFrame.from_records(records, columns=list(schema))
    frame = frame.astype({c: DTYPES[schema[c][0]] for c in schema})
    check_rows(path, table, frame, lines)
    return frame, lines


def _empty(table: str) -> pd.DataFrame:
    schema = SCHEMAS[table]
    return pd.DataFrame({c: pd.Series(dtype=DTYPES[s[0]]) for c, s in schema.items()})


def load_studies(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``studies.csv`` (one row per reference).

    Parameters
    ----------
    path : path-like
        Location of the CSV file.

    Returns
    -------
    pandas.DataFrame
        Typed table; see ``data/README.md`` for the codebook.

    Raises
    ------
    MetaacuInputError
        If ``path`` is not a path, the file is not UTF-8, has no data rows, or any cell or row breaks
        the schema (numbers must be plain ASCII decimal notation); the message names file, line and
        column.
    """
    return _read_table(as_path(path, "path", "load_studies"), "studies")[0]


def load_arms(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``arms.csv`` (one row per trial arm); see :func:`load_studies`."""
    return _read_table(as_path(path, "path", "load_arms"), "arms")[0]


def load_outcomes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``outcomes.csv`` (arm-level results); see :func:`load_studies`."""
    return _read_table(as_path(path, "path", "load_outcomes"), "outcomes")[0]


def load_contrasts(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``contrasts.csv`` (between-arm statistics); see :func:`load_studies`."""
    return _read_table(as_path(path, "path", "load_contrasts"), "contrasts")[0]


def load_adverse_events(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``adverse_events.csv``; see :func:`load_studies`."""
    return _read_table(as_path(path, "path", "load_adverse_events"), "adverse_events")[0]


def load_mechanism(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``mechanism.csv`` (mechanistic findings); see :func:`load_studies`."""
    return _read_table(as_path(path, "path", "load_mechanism"), "mechanism")[0]


def load_pooled_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``pooled_results.csv`` (review-level estimates); see :func:`load_studies`."""
    return _read_table(as_path(path, "path", "load_pooled_results"), "pooled_results")[0]


def load_review_trials(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate ``review_trials.csv`` (trial rows of review analyses)."""
    return _read_table(as_path(path, "path", "load_review_trials"), "review_trials")[0]


def _check_keys(directory: Path, tables: dict[str, tuple[pd.DataFrame, list[int]]]) -> None:
    """Cross-table checks: every foreign key resolves and arms belong to the named study."""
    study_ids = set(tables["studies"][0]["study_id"])
    arms = tables["arms"][0]
    arm_study = dict(zip(arms["arm_id"], arms["study_id"], strict=True))
    analyses = set(tables["pooled_results"][0]["analysis_id"])

    def check(
        table: str,
        column: str,
        valid: set[str] | dict[str, str],
        *,
        optional: bool = False,
        same_study: bool = False,
        many: bool = False,
    ) -> None:
        frame, lines = tables[table]
        path = directory / f"{table}.csv"
        for i, line in enumerate(lines):
            value = frame[column].iloc[i]
            if pd.isna(value):
                if optional:
                    continue
                raise _err(path, line, column, "a value is required")
            for key in str(value).split(";") if many else [str(value)]:
                if key not in valid:
                    raise _err(path, line, column, f"unknown id {key!r}")
                if same_study and isinstance(valid, dict) and valid[key] != frame["study_id"].iloc[i]:
                    raise _err(
                        path,
                        line,
                        column,
                        f"arm {key!r} belongs to study {valid[key]!r}, not {frame['study_id'].iloc[i]!r}",
                    )

    check("arms", "study_id", study_ids)
    for table in ("outcomes", "contrasts", "adverse_events", "mechanism"):
        check(table, "study_id", study_ids)
    check("outcomes", "arm_id", arm_study, same_study=True, many=True)
    check("contrasts", "arm_id_exp", arm_study, same_study=True, many=True)
    check("contrasts", "arm_id_ctl", arm_study, same_study=True, many=True)
    check("adverse_events", "arm_id", arm_study, optional=True, same_study=True)
    check("pooled_results", "review_id", study_ids)
    check("review_trials", "analysis_id", analyses)
    check("review_trials", "study_id", study_ids, optional=True)
    check("risk_of_bias", "study_id", study_ids)
    check("fidelity", "study_id", study_ids, optional=True)
    check("schedules", "study_id", study_ids)
    check("published_certainty", "review_id", study_ids)
    pooled = tables["pooled_results"][0]
    measure_of = dict(zip(pooled["analysis_id"], pooled["measure"], strict=True))
    trials, lines = tables["review_trials"]
    for i, line in enumerate(lines):
        measure = measure_of[trials["analysis_id"].iloc[i]]
        if measure in RATIO_MEASURES:
            check_ratio(
                directory / "review_trials.csv",
                line,
                f"{measure} (the measure of its analysis)",
                {c: cell_value(trials, i, c) for c in ("estimate", "ci_low", "ci_high")},
            )


def load_dataset(directory: str | os.PathLike[str] | None = None) -> Dataset:
    """Load, validate and cross-check every table of the dataset.

    Parameters
    ----------
    directory : path-like, optional
        Folder holding the CSV files.  Defaults to ``$METAACU_DATA`` when set, otherwise the
        repository's ``data/`` folder located relative to this package.

    Returns
    -------
    Dataset
        Frozen container of typed DataFrames.  ``pooled_results`` and ``review_trials`` are empty
        frames with the right columns when their files do not exist yet.

    Raises
    ------
    MetaacuInputError
        If ``directory`` is not a path; on a file that is not UTF-8 (a byte-order mark is tolerated)
        or has no data rows; on any schema, number-format, range, CI, uniqueness or foreign-key
        violation.  The message names file, CSV line number and column.
    """
    base = as_path(directory, "directory", "load_dataset") if directory is not None else default_data_dir()
    if base.exists() and not base.is_dir():
        raise MetaacuInputError(f"load_dataset: {base} is a file; pass the folder that holds the CSV files")
    tables: dict[str, tuple[pd.DataFrame, list[int]]] = {}
    for table in SCHEMAS:
        path = base / f"{table}.csv"
        if table in OPTIONAL_FILES and not path.exists():
            tables[table] = (_empty(table), [])
        else:
            tables[table] = _read_table(path, table)
    _check_keys(base, tables)
    return Dataset(**{name: frame for name, (frame, _) in tables.items()})
