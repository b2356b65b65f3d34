"""Section (e): a three-level model (effects within studies, metafor's ``rma.mv(random = ~ 1 | study/es)``)
fitted by metaacu's ``multilevel_meta_analysis`` and by R metafor, on the same simulated data.

Sizes: 1,000 effects in 100 studies (both tools) and 10,000 effects in 1,000 studies (metaacu only:
metafor's rma.mv works with the dense 10,000 × 10,000 marginal covariance and ran for over 16 CPU
minutes and 7 GB without finishing in a trial on this machine). CPU time of one fit (best of 3 for
metaacu, one fit for metafor), and the largest difference in the estimates.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import HAVE_R, SEED, floats, run_r, write_matrix

import metaacu

#: (studies, effects per study); metafor runs the smaller one only (see the module docstring).
SIZES = ((100, 10), (1000, 10))
SIGMA2 = (0.04, 0.01)  # between-study and within-study (between-effect) variances

R_RMA_MV = r"""
suppressMessages(library(metafor))
spec <- read.csv(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = FALSE)
cpu <- function() sum(proc.time()[c("user.self", "sys.self")])
for (i in seq_len(nrow(spec))) {
  y <- as.numeric(read.csv(spec$yfile[i], header = FALSE)); v <- as.numeric(read.csv(spec$vfile[i], header = FALSE))
  study <- as.integer(read.csv(spec$sfile[i], header = FALSE)); es <- seq_along(y)
  t0 <- cpu()
  res <- rma.mv(y, v, random = ~ 1 | study / es, method = "REML")
  sec <- cpu() - t0
  cat(sprintf("%d\t%.9g\t%.17g\t%.17g\t%s\n", length(y), sec, res$b[1], res$se,
      paste(sprintf("%.17g", res$sigma2), collapse = ",")))
}
"""


def simulate(studies: int, per: int, seed: int) -> pd.DataFrame:
    """Effects ``yi`` with variances ``vi`` nested in studies: yi = μ + u_study + w_effect + e."""
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(studies), per)
    vi = rng.uniform(0.01, 0.2, study.size)
    u = rng.normal(0.0, np.sqrt(SIGMA2[0]), studies)[study]
    w = rng.normal(0.0, np.sqrt(SIGMA2[1]), study.size)
    yi = 0.2 + u + w + rng.normal(0.0, np.sqrt(vi))
    return pd.DataFrame({"yi": yi, "vi": vi, "study": study, "es": np.arange(study.size)})


def fit(df: pd.DataFrame) -> Any:
    return metaacu.multilevel_meta_analysis("yi", "vi", data=df, nested=["study", "es"], method="REML")


def run(quick: bool, tmp: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    jobs = []
    for studies, per in SIZES:
        df = simulate(studies, per, SEED + studies)
        times = []
        for _ in range(3):
            t0 = time.process_time()
            res = fit(df)
            times.append(time.process_time() - t0)
        row: dict[str, Any] = {
            "k": len(df),
            "studies": studies,
            "metaacu_s": min(times),
            "estimate": float(res.estimate[0]) if np.ndim(res.estimate) else float(res.estimate),
            "converged": bool(res.converged),
            "metafor_s": None,
        }
        print(f"  multilevel k = {len(df):,} in {studies:,} studies: metaacu {row['metaacu_s']:.3f} s")
        out.append(row)
        if HAVE_R and studies <= 100:
            stem = tmp / f"ml_{studies}"
            jobs.append(
                {
                    "yfile": write_matrix(Path(f"{stem}_y.csv"), df["yi"].to_numpy()),
                    "vfile": write_matrix(Path(f"{stem}_v.csv"), df["vi"].to_numpy()),
                    "sfile": write_matrix(Path(f"{stem}_s.csv"), df["study"].to_numpy(float) + 1),
                }
            )
    if jobs:
        for line in run_r(R_RMA_MV, jobs, tmp, "rma_mv"):
            k, sec, est = int(line[0]), float(line[1]), float(line[2])
            row = next(r for r in out if r["k"] == k)
            row["metafor_s"] = sec
            row["metafor_estimate"] = est
            row["metafor_sigma2"] = floats(line[4]).tolist()
            print(f"  multilevel k = {k:,}: metafor rma.mv {sec:.2f} s")
    return out


def lines(rows: list[dict[str, Any]]) -> list[str]:
    """The README section (e)."""
    text = [
        "## (e) Multilevel model: effects within studies (`rma.mv(random = ~ 1 | study/es)`)",
        "",
        "Three-level data simulated with σ² = (0.04, 0.01) between studies and between effects of a study, "
        'vi ~ U(0.01, 0.2). CPU time of one REML fit: metaacu `multilevel_meta_analysis(..., nested=["study", '
        '"es"])` (best of 3), metafor `rma.mv` (one fit).',
        "",
        "| effects | studies | metaacu | metafor rma.mv | metafor / metaacu | \\|μ̂ − μ̂(metafor)\\| |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["metafor_s"] is None:
            mf, ratio, diff = "not run (dense 10⁴ × 10⁴ matrices: > 16 CPU min, 7 GB, unfinished)", "", ""
        else:
            mf = f"{r['metafor_s']:.2f} s"
            ratio = f"{r['metafor_s'] / r['metaacu_s']:.0f}×"
            diff = f"{abs(r['estimate'] - r['metafor_estimate']):.1e}"
        text.append(f"| {r['k']:,} | {r['studies']:,} | {r['metaacu_s']:.3f} s | {mf} | {ratio} | {diff} |")
    return [*text, ""]
