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
from .figures import claim_figure, risk_of_bias_plot
from .report import certainty_frame, html_report, sof_frame, verdict_table_markdown
from .reproduction import reproduction_table

__all__ = ["reproduce"]


def reproduce(out: str | Path = "results", *, notebooks: bool = True, data_dir: str | Path | None = None,
              progress: Callable[[str], None] = print) -> Path:
    """Run the full audit and write every output into ``out``; returns the folder.

    Parameters
    ----------
    out : path-like
        The results folder (created if needed).
    notebooks : bool
        Execute the notebooks into ``out/notebooks`` (slow); when False, earlier executed copies there
        are left as they are and the progress output says so.
    data_dir : path-like, optional
        The data folder (tables and ``claims.toml``); default :func:`metaacu.audit.data.default_data_dir`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..plots import save_figure

    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    progress("[1/5] loading and validating the data")
    ds = load_dataset(data_dir)
    reg = load_registry(None if data_dir is None else Path(data_dir) / "claims.toml", dataset=ds)
    progress(f"[2/5] evaluating {len(reg['claim'])} claims")
    results = audit_claims(registry=reg, dataset=ds)
    progress("[3/5] drawing the figures")
    figures: dict[str, Path] = {}
    makers = [(r.id, lambda r=r: claim_figure(r)) for r in results] + [("risk_of_bias", lambda: risk_of_bias_plot(ds))]
    for name, make in makers:  # one figure open at a time
        fp = make()
        if fp is None:
            continue
        for ext in ("png", "svg"):
            save_figure(fp.figure, out / "figures" / f"{name}.{ext}")
        figures[name] = out / "figures" / f"{name}.png"
        plt.close(fp.figure)
    progress("[4/5] writing tables and report")
    pd.DataFrame([r.as_row() for r in results]).to_csv(out / "claims.csv", index=False, float_format="%.6g")
    sof_frame(results).to_csv(out / "summary_of_findings.csv", index=False)
    certainty_frame(results).to_csv(out / "certainty.csv", index=False)
    (out / "claims.md").write_text(verdict_table_markdown(results), encoding="utf-8")
    repro = reproduction_table(results, ds, reg)
    repro.to_csv(out / "reproduction.csv", index=False, float_format="%.6g")
    (out / "report.html").write_text(html_report(results, figures, repro), encoding="utf-8")
    if notebooks:
        progress("[5/5] executing notebooks")
        from .notebooks import execute_all

        execute_all(out / "notebooks", progress=progress)
    else:
        progress("[5/5] notebooks not executed (--no-notebooks): any earlier copies in notebooks/ are left as they were")
    progress(f"done: {out.resolve()}")
    return out
