"""Section (a): one full REML fit (estimate, 95% CI, Q, I², prediction interval), and its cost against
k from 10 to 10,000 studies, for metaacu and its peers on the same datasets; the log-log plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from common import HAVE_R, HERE, SEED, cpu_per_call, datasets, floats, run_r, write_matrix

import metaacu

#: Studies per meta-analysis, and (datasets, metafor repetitions) at each k.
KS = (10, 20, 50, 100, 500, 1000, 10000)
PLAN = {10: (100, 5), 20: (50, 3), 50: (30, 2), 100: (20, 2), 500: (5, 1), 1000: (2, 1), 10000: (3, 0)}
QUICK_PLAN = {10: (100, 1), 20: (20, 1), 50: (10, 1), 100: (5, 1), 500: (2, 1), 1000: (1, 1), 10000: (1, 0)}
PNG = HERE / "cost_vs_k.png"


def fit_metaacu(y: np.ndarray, v: np.ndarray) -> tuple[float, ...]:
    r = metaacu.meta_analysis(y, v, method="REML")
    pi = r.prediction_interval()
    return r.estimate, r.ci_low, r.ci_high, r.q, r.i2, pi.low, pi.high


def fit_statsmodels(y: np.ndarray, v: np.ndarray, use_t: bool = False) -> tuple[float, ...]:
    from statsmodels.stats.meta_analysis import combine_effects

    # statsmodels has no REML: "iterated" is Paule-Mandel; it has no prediction interval.
    r = combine_effects(y, v, method_re="iterated", use_t=use_t)
    sf = r.summary_frame()
    lo, hi = sf.loc["random effect wls" if use_t else "random effect", ["ci_low", "ci_upp"]]
    return r.mean_effect_re, lo, hi, r.q, r.i2, r.tau2


def pymare_fit(y: np.ndarray, v: np.ndarray, correction: str) -> tuple[dict, dict, np.ndarray]:
    """y, v of shape (k, d): d parallel meta-analyses (PyMARE's layout)."""
    from pymare import Dataset
    from pymare.estimators import VarianceBasedLikelihoodEstimator

    est = VarianceBasedLikelihoodEstimator(method="REML", small_sample_correction=correction)
    est.fit_dataset(Dataset(y=y, v=v))
    res = est.summary()
    return res.get_fe_stats(), res.get_heterogeneity_stats(), np.asarray(res.tau2)


def fit_pymare(y: np.ndarray, v: np.ndarray) -> Any:
    return pymare_fit(y[:, None], v[:, None], "wald")


R_SINGLE = r"""
suppressMessages(library(metafor))
spec <- read.csv(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = FALSE)
for (i in seq_len(nrow(spec))) {
  y <- as.matrix(read.csv(spec$yfile[i], header = FALSE)); v <- as.matrix(read.csv(spec$vfile[i], header = FALSE))
  reps <- spec$reps[i]; n <- nrow(y); est <- rep(NA_real_, n)
  fit1 <- function(j) {
    r <- tryCatch(rma(y[j, ], v[j, ], method = "REML"), error = function(e) NULL)
    if (is.null(r)) return(NA_real_)   # Fisher scoring did not converge (counted)
    p <- predict(r)   # prediction interval
    c(r$b[1], r$ci.lb, r$ci.ub, r$QE, r$I2, p$pi.lb, p$pi.ub)
  }
  invisible(fit1(1))
  best <- Inf   # the best pass over the datasets, as for the Python tools
  for (rep in seq_len(reps)) {
    t0 <- sum(proc.time()[c("user.self", "sys.self")])
    for (j in seq_len(n)) { o <- fit1(j); if (rep == 1) est[j] <- o[1] }
    best <- min(best, sum(proc.time()[c("user.self", "sys.self")]) - t0)
  }
  cat(sprintf("%s\t%.9g\t%d\t%s\n", spec$label[i], best / n, sum(is.na(est)),
      paste(sprintf("%.17g", est), collapse = ",")))
}
"""


TOOLS = {"metaacu": fit_metaacu, "PyMARE": fit_pymare, "statsmodels": fit_statsmodels}


def time_tools(
    data: dict[int, list[tuple[np.ndarray, np.ndarray]]], out: dict[int, dict[str, float]], t: float
) -> None:
    """CPU seconds per fit of each Python tool at each k, kept where lower than in ``out`` already."""
    for k in KS:
        for tool, fun in TOOLS.items():
            sec = cpu_per_call(fun, data[k], t if k <= 1000 else 2 * t)
            out[k][tool] = min(sec, out[k].get(tool, np.inf))


def run(quick: bool, tmp: Path) -> dict[str, Any]:
    """Per k: CPU seconds per fit of each tool, and the largest |μ̂ − μ̂(metafor)|.  The Python tools are
    timed before and after metafor and the better of the two kept (the machine may be shared)."""
    plan = QUICK_PLAN if quick else PLAN
    min_time = 0.3 if quick else 1.0
    data = {k: datasets(k, plan[k][0], SEED + 7 * k) for k in KS}
    out: dict[int, dict[str, float]] = {k: {} for k in KS}
    time_tools(data, out, min_time)
    if HAVE_R:
        jobs = []
        for k in KS:
            reps = plan[k][1]
            if reps:
                y = np.array([d[0] for d in data[k]])
                v = np.array([d[1] for d in data[k]])
                yf, vf = write_matrix(tmp / f"s{k}_y.csv", y), write_matrix(tmp / f"s{k}_v.csv", v)
                jobs.append({"label": str(k), "yfile": yf, "vfile": vf, "reps": reps})
        print("(a) running metafor rma + predict ...", flush=True)
        for label, per_fit, fails, est in run_r(R_SINGLE, jobs, tmp, "single"):
            k = int(label)
            out[k]["metafor"] = float(per_fit)
            out[k]["metafor_fails"] = int(fails)
            ours = np.array([fit_metaacu(y, v)[0] for y, v in data[k]])
            out[k]["diff_metafor"] = float(np.nanmax(np.abs(ours - floats(est))))
    time_tools(data, out, min_time)
    for k in KS:
        ratios = "  ".join(
            f"{tool} {out[k][tool] * 1e6:9.1f} µs ({out[k][tool] / out[k]['metaacu']:6.1f}×)"
            for tool in ("metaacu", "PyMARE", "statsmodels", "metafor")
            if tool in out[k]
        )
        print(f"(a) k = {k:>6,}: {ratios}", flush=True)
    plot(out)
    return {"per_k": out, "plan": plan}


def plot(per_k: dict[int, dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    styles = {"metaacu": "o-", "PyMARE": "s--", "statsmodels": "^--", "metafor": "D--"}
    for tool, style in styles.items():
        ks = [k for k in per_k if tool in per_k[k]]
        ax.loglog(ks, [per_k[k][tool] * 1e6 for k in ks], style, label=tool if tool != "metafor" else "metafor (R)")
    ax.set_xlabel("studies per meta-analysis, k")
    ax.set_ylabel("CPU time per full REML fit (µs)")
    ax.set_title("One REML fit with CI, Q, I², prediction interval")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(PNG)
    plt.close(fig)
