"""Section (c): large k — leave-one-out (also against metafor's ``leave1out``), influence, cumulative
and the rank test: CPU time and peak traced memory, with peers."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import HAVE_R, SEED, floats, run_r, simulate, write_matrix
from single import fit_statsmodels, pymare_fit

import metaacu
from metaacu.bias import rank_test
from metaacu.sensitivity import cumulative, influence, leave_one_out

#: Refits of the statsmodels loops that are timed (then extrapolated to k).
SUB_LOOP = 200

R_LEAVE1OUT = r"""
suppressMessages(library(metafor))
spec <- read.csv(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = FALSE)
cpu <- function() sum(proc.time()[c("user.self", "sys.self")])
for (i in seq_len(nrow(spec))) {
  y <- as.numeric(read.csv(spec$yfile[i], header = FALSE)); v <- as.numeric(read.csv(spec$vfile[i], header = FALSE))
  k <- length(y); res <- rma(y, v, method = "REML")
  full <- NA_real_
  if (spec$full[i] == 1) { t0 <- cpu(); l <- leave1out(res); full <- cpu() - t0 }
  idx <- unique(round(seq(1, k, length.out = spec$sub[i])))
  tau2 <- rep(NA_real_, length(idx))
  t0 <- cpu()
  for (j in seq_along(idx)) tau2[j] <- rma(y[-idx[j]], v[-idx[j]], method = "REML")$tau2
  loop <- (cpu() - t0) / length(idx) * k
  cat(sprintf("%d\t%.9g\t%.9g\t%d\t%s\t%s\n", k, full, loop, length(idx),
      paste(idx - 1L, collapse = ","), paste(sprintf("%.17g", tau2), collapse = ",")))
}
"""


def cpu_and_peak(fun: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """``fun(*args)``'s result and CPU seconds (untraced call), then the peak memory (MB) traced during a
    second call."""
    t0 = time.process_time()
    out = fun(*args)
    sec = time.process_time() - t0
    tracemalloc.start()
    try:
        fun(*args)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return out, sec, peak


def pymare_leave_one_out(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """PyMARE's vectorised way: the k leave-one-out datasets as the columns of (k − 1, k) arrays; τ²."""
    k = y.size
    keep = ~np.eye(k, dtype=bool)
    cols = [np.broadcast_to(a, (k, k))[keep].reshape(k, k - 1).T.copy() for a in (y, v)]
    return pymare_fit(cols[0], cols[1], "wald")[2]


def statsmodels_loop(y: np.ndarray, v: np.ndarray, subsets: list[np.ndarray], total: int) -> tuple[np.ndarray, float]:
    """(μ̂, τ²) of ``combine_effects`` (PM) on each subset, and its CPU seconds scaled to ``total`` fits."""
    t0 = time.process_time()
    out = np.array([(o[0], o[5]) for o in (fit_statsmodels(y[idx], v[idx]) for idx in subsets)])
    return out, (time.process_time() - t0) * total / len(subsets)


def vs_statsmodels(ours: Any, rows: np.ndarray, theirs: np.ndarray) -> str:
    """Largest |Δμ̂| on the rows both fitted, and how often statsmodels' PM stopped at τ² = 0 below ours."""
    zero = int(np.sum((theirs[:, 1] == 0) & (ours.tau2[rows] > 1e-8)))
    return (
        f"μ̂ {np.max(np.abs(ours.estimate[rows] - theirs[:, 0])):.1e} "
        f"(statsmodels τ² = 0 < metaacu's: {zero}/{rows.size})"
    )


def data_at(k: int) -> tuple[np.ndarray, np.ndarray]:
    y, v = simulate(1, k, np.random.default_rng(SEED + k))
    return y[0], v[0]


def metafor_leave1out(ks: tuple[int, ...], subs: dict[int, int], tmp: Path) -> dict[int, dict[str, Any]]:
    """metafor at each k: ``leave1out`` timed in full where ``subs[k] >= k``, and a loop of the same
    ``rma`` refits timed on ``subs[k]`` of them (spread evenly), extrapolated to k."""
    jobs = []
    for k in ks:
        y, v = data_at(k)
        jobs.append(
            {
                "yfile": write_matrix(tmp / f"l{k}_y.csv", y),
                "vfile": write_matrix(tmp / f"l{k}_v.csv", v),
                "full": int(subs[k] >= k),
                "sub": min(subs[k], k),
            }
        )
    print("(c) running metafor leave1out / its refits ...", flush=True)
    out = {}
    for k, full, loop, n, idx, tau2 in run_r(R_LEAVE1OUT, jobs, tmp, "leave1out"):
        out[int(k)] = {
            "full": floats(full)[0],
            "loop": floats(loop)[0],
            "n": int(n),
            "idx": np.array(idx.split(","), dtype=int),
            "tau2": floats(tau2),
        }
    return out


def run_k(k: int, metafor: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Section (c) at one k: one row per function, with its peer where one exists."""
    from scipy import stats

    y, v = data_at(k)
    reml, pm = metaacu.meta_analysis(y, v, method="REML"), metaacu.meta_analysis(y, v, method="PM")
    n = min(SUB_LOOP, k)
    omit = np.linspace(0, k - 1, n).round().astype(int)  # leave-one-out rows timed in the loops
    steps = np.linspace(1, k - 1, n).round().astype(int)  # cumulative rows (j + 1 studies; statsmodels needs 2)
    w = 1.0 / v
    ystar = (y - np.sum(w * y) / np.sum(w)) / np.sqrt(v - 1.0 / np.sum(w))
    rows: list[dict[str, Any]] = []

    def row(
        what: str, fun: Callable[..., Any], arg: Any, peer: str | None = None, peer_run: Any = None, agree: Any = None
    ):
        res, sec, peak = cpu_and_peak(fun, arg)
        rows.append({"what": what, "sec": sec, "peak": peak, "peer": peer})
        if peer is not None:
            pres, psec, ppeak, extrap = peer_run()
            rows[-1].update(peer_sec=psec, peer_peak=ppeak, extrap=extrap, agree=agree(res, pres))
        return res

    def sm(subsets: list[np.ndarray]) -> tuple[Any, float, float, bool]:
        return (*statsmodels_loop(y, v, subsets, k), np.nan, n < k)

    loo = row(
        "leave_one_out (REML)",
        leave_one_out,
        reml,
        "PyMARE REML, one 2-D fit",
        lambda: (*cpu_and_peak(pymare_leave_one_out, y, v), False),
        lambda a, b: f"τ² {np.max(np.abs(a.tau2 - b)):.1e}",
    )
    if metafor is not None:
        sec = metafor["full"] if np.isfinite(metafor["full"]) else metafor["loop"]
        rows.append(
            {
                "what": "leave_one_out (REML)",
                "sec": rows[0]["sec"],
                "peak": rows[0]["peak"],
                "peer": "metafor leave1out" if np.isfinite(metafor["full"]) else "metafor rma refits (leave1out's)",
                "peer_sec": sec,
                "peer_peak": np.nan,
                "extrap": not np.isfinite(metafor["full"]),
                "agree": f"τ² {np.max(np.abs(loo.tau2[metafor['idx']] - metafor['tau2'])):.1e} ({metafor['n']} refits)",
            }
        )
    row(
        "leave_one_out (PM)",
        leave_one_out,
        pm,
        "statsmodels loop (PM)",
        lambda: sm([np.delete(np.arange(k), i) for i in omit]),
        lambda a, b: vs_statsmodels(a, omit, b),
    )
    row("influence (REML)", influence, reml)
    row("cumulative (REML)", cumulative, reml)
    row(
        "cumulative (PM)",
        cumulative,
        pm,
        "statsmodels loop (PM)",
        lambda: sm([np.arange(j + 1) for j in steps]),
        lambda a, b: vs_statsmodels(a, steps, b),
    )
    row(
        "rank_test",
        rank_test,
        reml,
        "scipy.stats.kendalltau (τ and p only)",
        lambda: (*cpu_and_peak(stats.kendalltau, ystar, v), False),
        lambda a, b: f"p {abs(a.pvalue - b.pvalue):.1e}",
    )
    print(f"(c) large k = {k:,}: CPU seconds, peak traced MB")
    for r in rows:
        peer = (
            f"   {r['peer']}: {r['peer_sec']:.3g} s{'*' * r['extrap']} ({r['peer_sec'] / r['sec']:.1f}×)"
            if r["peer"]
            else ""
        )
        print(f"    {r['what']:22s} {r['sec']:9.3g} s {r['peak']:8.1f} MB{peer}", flush=True)
    return rows


def run(quick: bool, tmp: Path) -> dict[str, Any]:
    ks = (1000,) if quick else (1000, 5000)
    subs = {100: 100, 1000: 3 if quick else 10}
    mf = metafor_leave1out((100, 1000), subs, tmp) if HAVE_R else {}
    check = None
    if 100 in mf:  # leave1out in full against the loop of its refits: the loop is what it costs
        y, v = data_at(100)
        ours, sec, _ = cpu_and_peak(leave_one_out, metaacu.meta_analysis(y, v, method="REML"))
        check = {
            "full": mf[100]["full"],
            "loop": mf[100]["loop"],
            "ours": sec,
            "diff": float(np.max(np.abs(ours.tau2 - mf[100]["tau2"]))),
        }
        print(
            f"(c) k = 100: metafor leave1out {check['full']:.3g} s, its 100 rma refits {check['loop']:.3g} s; "
            f"metaacu {sec:.3g} s ({check['full'] / sec:.0f}×)",
            flush=True,
        )
    return {"per_k": {k: run_k(k, mf.get(k)) for k in ks}, "check100": check, "subs": subs}
