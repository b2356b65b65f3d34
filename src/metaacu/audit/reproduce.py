"""Reproduce the whole claims audit into a results folder: figures, tables, notebooks and a report.

``metaacu reproduce --out results`` (see :mod:`metaacu.cli`) calls :func:`reproduce`.  Outputs are
deterministic: same data, same files (figures are saved with fixed metadata and hash salt).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .claims import audit_claims, load_registry
from .data import load_dataset
from .figures import claim_figure
from .report import html_report, verdict_table_markdown
from .reproduction import reproduction_table

__all__ = ["reproduce"]


def reproduce(out: str | Path = "results", *, notebooks: bool = True, progress: Callable[[str], None] = print) -> Path:
    """Run the full audit and write every output into ``out``; returns the folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..plots import save_figure

    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    progress("[1/5] loading and validating data/")
    ds = load_dataset()
    reg = load_registry(dataset=ds)
    progress(f"[2/5] evaluating {len(reg['claim'])} claims")
    results = audit_claims(registry=reg, dataset=ds)
    progress("[3/5] drawing forest plots")
    figures: dict[str, Path] = {}
    for r in results:
        fp = claim_figure(r)
        if fp is None:
            continue
        for ext in ("png", "svg"):
            save_figure(fp.figure, out / "figures" / f"{r.id}.{ext}")
        figures[r.id] = out / "figures" / f"{r.id}.png"
        plt.close(fp.figure)
    progress("[4/5] writing tables and report")
    pd.DataFrame([r.as_row() for r in results]).to_csv(out / "claims.csv", index=False, float_format="%.6g")
    (out / "claims.md").write_text(verdict_table_markdown(results), encoding="utf-8")
    repro = reproduction_table(results, ds)
    repro.to_csv(out / "reproduction.csv", index=False, float_format="%.6g")
    (out / "report.html").write_text(html_report(results, figures, repro), encoding="utf-8")
    if notebooks:
        progress("[5/5] executing notebooks")
        from .notebooks import execute_all

        execute_all(out / "notebooks", progress=progress)
    else:
        progress("[5/5] notebooks skipped")
    progress(f"done: {out.resolve()}")
    return out
