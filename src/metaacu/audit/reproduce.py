"""Reproduce the whole claims audit into a results folder: figures, tables, notebooks and a report.

``metaacu reproduce --out results`` (see :mod:`metaacu.cli`) calls :func:`reproduce`.

The run is atomic.  Everything is written into a hidden temporary folder next to the target (same
file system), and only when every step has succeeded is that folder swapped in for the target as a
whole: the old folder is renamed aside, the new one renamed in, the old one deleted.  A failed run
leaves an existing results folder exactly as it was and removes its temporary folder; a successful
run leaves no file of an earlier run behind.  Because a whole folder is replaced, :func:`reproduce`
refuses to replace a non-empty folder that it did not write itself (see :func:`reproduce`).

Each results folder holds ``MANIFEST.json``: status, every step with what it did or why it was
skipped, the data folder with a SHA-256 of each of its files, package versions and the SHA-256 of
every file written; :func:`verify_results` checks a folder against it.  The manifest has no
timestamp, so two runs on the same data and environment give the same files byte for byte (no
notebook prints a run time).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from metaacu._validation import MetaacuInputError

from ..plots import ForestPlot
from .claims import audit_claims, load_registry
from .data import default_data_dir, load_dataset
from .figures import ArithmeticPlot, RobPlot, claim_figure, risk_of_bias_plot
from .report import certainty_frame, html_report, sof_frame, verdict_table_markdown
from .reproduction import reproduction_table

__all__ = ["MANIFEST", "ReproduceError", "reproduce", "verify_results"]

MANIFEST = "MANIFEST.json"
_GENERATOR = "metaacu reproduce"
_LEGACY_MARKERS = ("claims.csv", "claims.md", "reproduction.csv")  # a results folder from before MANIFEST.json


class ReproduceError(RuntimeError):
    """A step of :func:`reproduce` failed; the message names the step and says the target is unchanged."""


@dataclass
class _Run:
    """What the steps share: the folder being written, the data, and what earlier steps produced."""

    out: Path
    data_dir: Path
    notebooks: bool
    progress: Callable[[str], None]
    dataset: Any = None
    registry: Any = None
    results: list[Any] = field(default_factory=list)
    figures: dict[str, Path] = field(default_factory=dict)


def _load(run: _Run) -> str:
    run.dataset = load_dataset(run.data_dir)
    run.registry = load_registry(run.data_dir / "claims.toml", dataset=run.dataset)
    return str(run.data_dir)


def _evaluate(run: _Run) -> str:
    def tick(i: int, n: int, res: Any) -> None:
        run.progress(f"      {res.id} ({i}/{n}): {res.verdict}")

    run.results = audit_claims(registry=run.registry, dataset=run.dataset, progress=tick)
    return f"{len(run.results)} claims"


def _draw_figures(run: _Run) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plots import save_figure

    folder = run.out / "figures"
    folder.mkdir()
    makers: list[tuple[str, Callable[[], ForestPlot | ArithmeticPlot | RobPlot | None]]] = [
        (r.id, functools.partial(claim_figure, r)) for r in run.results
    ]
    makers.append(("risk_of_bias", lambda: risk_of_bias_plot(run.dataset)))
    for i, (name, make) in enumerate(makers, start=1):  # one figure open at a time
        run.progress(f"      {name} ({i}/{len(makers)})")
        fp = make()
        if fp is None:  # a claim with nothing to draw (no estimate): by design, not a skipped step
            continue
        for ext in ("png", "svg"):
            save_figure(fp.figure, folder / f"{name}.{ext}")
        run.figures[name] = folder / f"{name}.png"
        plt.close(fp.figure)
    return f"{len(run.figures)} figures (PNG and SVG)"


def _write_tables(run: _Run) -> str:
    out, results = run.out, run.results
    pd.DataFrame([r.as_row() for r in results]).to_csv(out / "claims.csv", index=False, float_format="%.6g")
    sof_frame(results).to_csv(out / "summary_of_findings.csv", index=False)
    certainty_frame(results).to_csv(out / "certainty.csv", index=False)
    (out / "claims.md").write_text(verdict_table_markdown(results), encoding="utf-8")
    repro = reproduction_table(results, run.dataset, run.registry)
    repro.to_csv(out / "reproduction.csv", index=False, float_format="%.6g")
    (out / "report.html").write_text(
        html_report(results, run.figures, repro, notebooks_run=run.notebooks), encoding="utf-8"
    )
    return "claims.csv, summary_of_findings.csv, certainty.csv, claims.md, reproduction.csv, report.html"


def _execute_notebooks(run: _Run) -> str:
    from . import notebooks

    sources = notebooks.notebook_sources()
    done = notebooks.execute_all(run.out / "notebooks", data_dir=run.data_dir, sources=sources, progress=run.progress)
    if len(done) != len(sources):  # execute_all raises first; this guards the count the manifest states
        raise ReproduceError(f"executing notebooks: {len(done)} of {len(sources)} notebooks ran")
    return f"{len(done)} of {len(sources)} notebooks executed with METAACU_DATA={run.data_dir}"


_STEPS: tuple[tuple[str, str], ...] = (
    ("load and validate the data", "_load"),
    ("evaluate the claims", "_evaluate"),
    ("draw the figures", "_draw_figures"),
    ("write tables and report", "_write_tables"),
    ("execute the notebooks", "_execute_notebooks"),
)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_hashes(folder: Path) -> dict[str, str]:
    files = (p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST)
    return {p.relative_to(folder).as_posix(): _sha256(p) for p in sorted(files, key=lambda p: p.as_posix())}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import metaacu

    found = {"metaacu": metaacu.__version__, "python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "pandas", "matplotlib"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - the audit cannot run without them
            found[name] = "not installed"
    return found


def _write_manifest(run: _Run, steps: list[dict[str, str]]) -> dict[str, Any]:
    data_files = sorted(p for p in run.data_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    manifest = {
        "generator": _GENERATOR,
        "status": "complete",
        "complete_without_skips": all(s["status"] == "done" for s in steps),
        "skipped": [f"step {s['step']} ({s['name']}): {s['detail']}" for s in steps if s["status"] != "done"],
        "steps": steps,
        "data_dir": str(run.data_dir),
        "data_files": {p.name: _sha256(p) for p in data_files},
        "versions": _versions(),
        "files": _file_hashes(run.out),
    }
    (run.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _is_results_folder(folder: Path) -> bool:
    """Whether ``folder`` may be replaced as a whole: empty, or written by this function."""
    if not any(folder.iterdir()):
        return True
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            return bool(json.loads(manifest.read_text(encoding="utf-8")).get("generator") == _GENERATOR)
        except (ValueError, UnicodeDecodeError, AttributeError):
            return False
    return all((folder / name).is_file() for name in _LEGACY_MARKERS)


def _check_target(target: Path, data_dir: Path) -> None:
    from .notebooks import notebook_dir

    if target.exists() and not target.is_dir():
        raise MetaacuInputError(f"reproduce --out {target}: exists and is not a folder")
    for what, inner in (
        ("the data folder", data_dir),
        ("the notebooks folder", notebook_dir()),
        ("the current folder", Path.cwd().resolve()),
    ):
        if inner == target or target in inner.parents:
            raise MetaacuInputError(
                f"reproduce --out {target}: the results folder is replaced as a whole and "
                f"holds {what} ({inner}); choose a folder of its own, e.g. results/"
            )
    if target.is_dir() and not _is_results_folder(target):
        raise MetaacuInputError(
            f"reproduce --out {target}: the folder is not empty and has no {MANIFEST} of an "
            "earlier `metaacu reproduce` run; the results folder is replaced as a whole, so "
            "choose a new or empty folder (or delete this one)"
        )


def _new_staging(target: Path) -> Path:
    """A hidden empty folder next to ``target``, with the mode ``target`` has (or a new folder would get)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    if target.is_dir():
        mode = target.stat().st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o777 & ~umask
    os.chmod(staging, mode)
    return staging


def _swap_into_place(staging: Path, target: Path, progress: Callable[[str], None]) -> None:
    """Rename ``target`` aside (if it exists), rename ``staging`` in, then delete the old folder."""
    if not target.exists():
        os.rename(staging, target)
        return
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)  # put the previous results back
        raise
    shutil.rmtree(old, ignore_errors=True)
    if old.exists():
        progress(f"warning: could not delete the previous results, moved aside to {old}")


def reproduce(
    out: str | Path = "results",
    *,
    notebooks: bool = True,
    data_dir: str | Path | None = None,
    progress: Callable[[str], None] = print,
) -> Path:
    """Run the full audit and put every output into ``out`` at once; returns ``out``.

    Parameters
    ----------
    out : path-like
        The results folder.  It is created, or replaced as a whole when it is empty or holds an
        earlier run's output (a ``MANIFEST.json`` of this function, or ``claims.csv``,
        ``claims.md`` and ``reproduction.csv`` from before manifests); any other existing folder is
        refused, as is one holding the data, the notebooks or the current folder.
    notebooks : bool
        Execute the notebooks into ``out/notebooks`` against ``data_dir`` (slow).  False (the
        command's ``--no-notebooks``) is recorded in the manifest as a skipped step and printed; the
        new folder then has no ``notebooks/`` (no executed copies of an earlier run survive).
    data_dir : path-like, optional
        The data folder (tables and ``claims.toml``); default :func:`metaacu.audit.data.default_data_dir`
        (``$METAACU_DATA`` when set).  The notebook kernels get it as ``METAACU_DATA``.
    progress : callable
        Receives each progress line.

    Returns
    -------
    Path
        ``out``, holding the complete results and ``MANIFEST.json``.

    Raises
    ------
    MetaacuInputError
        When ``out`` may not be replaced, or the data are invalid (the message names the file).
    ReproduceError
        When any other step fails (chained to the cause).  In both cases ``out`` is left as it was.
    """
    target = Path(out).expanduser().resolve()
    data = (Path(data_dir) if data_dir is not None else default_data_dir()).expanduser().resolve()
    _check_target(target, data)
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in sorted(target.parent.glob(f".{target.name}.tmp-*")):
        progress(f"note: {leftover} is left over from an interrupted run (or another run in progress)")
    staging = _new_staging(target)
    run = _Run(out=staging, data_dir=data, notebooks=notebooks, progress=progress)
    steps: list[dict[str, str]] = []
    try:
        for i, (name, func) in enumerate(_STEPS, 1):
            label = f"[{i}/{len(_STEPS)}] {name}"
            if func == "_execute_notebooks" and not notebooks:
                detail = "--no-notebooks: not executed, no notebooks/ folder written"
                progress(f"{label}: SKIPPED ({detail})")
                steps.append({"step": f"{i}/{len(_STEPS)}", "name": name, "status": "skipped", "detail": detail})
                continue
            progress(label + (f" from {data}" if func == "_load" else ""))
            try:
                detail = globals()[func](run)
            except MetaacuInputError as exc:
                raise MetaacuInputError(f"reproduce step {label}: {exc}; {target} was left as it was") from exc
            except Exception as exc:
                raise ReproduceError(
                    f"reproduce step {label} failed: {type(exc).__name__}: {exc}; {target} was left as it was"
                ) from exc
            steps.append({"step": f"{i}/{len(_STEPS)}", "name": name, "status": "done", "detail": detail})
        manifest = _write_manifest(run, steps)
        _swap_into_place(staging, target, progress)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(f"done: {target} ({len(manifest['files'])} files, listed with their SHA-256 in {MANIFEST})")
    for skipped in manifest["skipped"]:
        progress(f"NOTE: SKIPPED {skipped} (recorded in {MANIFEST})")
    return Path(out)


def verify_results(folder: str | Path) -> list[str]:
    """Check a results folder against its ``MANIFEST.json``.

    Parameters
    ----------
    folder : path-like
        A folder written by :func:`reproduce`.

    Returns
    -------
    list of str
        One line per problem (no manifest, status not complete, a file missing, changed or not
        listed); empty when the folder is exactly what the run wrote.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{path}: missing (not a complete `metaacu reproduce` run)"]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    problems = [] if manifest.get("status") == "complete" else [f"{MANIFEST}: status is {manifest.get('status')!r}"]
    listed, found = manifest.get("files", {}), _file_hashes(folder)
    problems += [f"{name}: listed in {MANIFEST} but missing" for name in listed if name not in found]
    problems += [f"{name}: not listed in {MANIFEST}" for name in found if name not in listed]
    problems += [
        f"{name}: SHA-256 differs from {MANIFEST}"
        for name, digest in found.items()
        if name in listed and listed[name] != digest
    ]
    return problems
