"""Section (b): many REML meta-analyses at once with the HKSJ CI, τ², I² and the prediction interval:
metaacu ``meta_analysis_batch`` vs PyMARE's vectorised estimator, one numpy DerSimonian-Laird pass
over the same array (the floor of any method), loops over statsmodels and metafor (timed on a
subsample of rows); and the peak memory of 10⁶ rows in a fresh process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import HAVE_R, SEED, floats, python_env, run_python, run_r, simulate, wall_best, write_matrix
from single import fit_statsmodels, pymare_fit

from metaacu.batch import meta_analysis_batch
from metaacu.inference import Z975

R_LOOP = r"""
suppressMessages(library(metafor))
spec <- read.csv(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = FALSE)
for (i in seq_len(nrow(spec))) {
  y <- as.matrix(read.csv(spec$yfile[i], header = FALSE)); v <- as.matrix(read.csv(spec$vfile[i], header = FALSE))
  n <- nrow(y); fails <- 0L; est <- rep(NA_real_, n); tau2 <- rep(NA_real_, n)
  t0 <- sum(proc.time()[c("user.self", "sys.self")])
  for (j in seq_len(n)) {
    r <- tryCatch(rma(y[j, ], v[j, ], method = "REML", test = "knha"), error = function(e) NULL)
    if (is.null(r)) { fails <- fails + 1L; next }
    p <- predict(r); est[j] <- r$b[1]; tau2[j] <- r$tau2
  }
  el <- sum(proc.time()[c("user.self", "sys.self")]) - t0
  cat(sprintf("%s\t%.9g\t%d\t%d\t%s\t%s\n", spec$label[i], el / n, n, fails,
      paste(sprintf("%.17g", est), collapse = ","), paste(sprintf("%.17g", tau2), collapse = ",")))
}
"""


def dl_pass(y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """DerSimonian-Laird with a Wald CI over the rows, as one numpy pass (no validation, no PI)."""
    k = y.shape[1]
    w = 1.0 / v
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    q = (w * (y - mu[:, None]) ** 2).sum(axis=1)
    tau2 = np.maximum(0.0, (q - (k - 1)) / (sw - (w * w).sum(axis=1) / sw))
    ws = 1.0 / (v + tau2[:, None])
    sws = ws.sum(axis=1)
    est = (ws * y).sum(axis=1) / sws
    se = 1.0 / np.sqrt(sws)
    return est, est - Z975 * se, est + Z975 * se, tau2


def failures(res: Any) -> int:
    """Rows with an error code, a τ² solver that did not converge, or a non-finite estimate/CI/PI."""
    finite = np.isfinite(res.estimate) & np.isfinite(res.ci_low) & np.isfinite(res.pi_low) & np.isfinite(res.i2)
    return int(((res.error != 0) | ~res.converged | ~finite).sum())


def run(quick: bool, tmp: Path) -> dict[str, Any]:
    ms = (20_000,) if quick else (100_000,)
    ks = (10, 50)
    sub_sm = 300 if quick else 3000
    sub_r = 200 if quick else 1000
    rng = np.random.default_rng(SEED + 1)
    rows: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for m in ms:
        for k in ks:
            y, v = simulate(m, k, rng)
            meta_analysis_batch(y[:200], v[:200], method="REML", test="knha")  # compiled (cached) kernels loaded
            row: dict[str, dict[str, Any]] = {}
            wall, cpu, res = wall_best(lambda y=y, v=v: meta_analysis_batch(y, v, method="REML", test="knha"), 3)
            row["metaacu"] = {"seconds": wall, "cpu": cpu, "fails": failures(res), "n": m, "extrapolated": False}
            yt, vt = y.T.copy(), v.T.copy()
            wall, cpu, (fe, _, tau2) = wall_best(lambda yt=yt, vt=vt: pymare_fit(yt, vt, "knapp-hartung"), 2)
            bad = ~np.isfinite(np.ravel(fe["est"])) | ~np.isfinite(np.ravel(fe["ci_l"])) | ~np.isfinite(np.ravel(tau2))
            row["PyMARE"] = {
                "seconds": wall,
                "cpu": cpu,
                "fails": int(bad.sum()),
                "n": m,
                "extrapolated": False,
                "diff_tau2": float(np.max(np.abs(np.ravel(tau2) - res.tau2))),
            }
            wall, cpu, _ = wall_best(lambda y=y, v=v: dl_pass(y, v), 5)
            row["numpy DL pass"] = {"seconds": wall, "cpu": cpu, "fails": 0, "n": m, "extrapolated": False}
            n = min(sub_sm, m)
            t0 = time.process_time()
            fails = 0
            for j in range(n):
                try:
                    o = fit_statsmodels(y[j], v[j], use_t=True)
                    fails += not np.all(np.isfinite(o[:3]))
                except Exception:
                    fails += 1
            sec = (time.process_time() - t0) / n * m
            row["statsmodels loop"] = {"seconds": sec, "cpu": sec, "fails": fails, "n": n, "extrapolated": n < m}
            if HAVE_R:
                nr = min(sub_r, m)
                job = {
                    "label": f"b{k}",
                    "yfile": write_matrix(tmp / f"b{k}_y.csv", y[:nr]),
                    "vfile": write_matrix(tmp / f"b{k}_v.csv", v[:nr]),
                }
                print(f"(b) running an R loop of metafor over {nr:,} rows (k = {k}) ...", flush=True)
                ((_, per_fit, nfit, rfails, est, rtau2),) = run_r(R_LOOP, [job], tmp, f"batch{k}")
                sec = float(per_fit) * m
                row["metafor loop"] = {
                    "seconds": sec,
                    "cpu": sec,
                    "fails": int(rfails),
                    "n": int(nfit),
                    "extrapolated": int(nfit) < m,
                    "diff_est": float(np.nanmax(np.abs(floats(est) - res.estimate[:nr]))),
                    "diff_tau2": float(np.nanmax(np.abs(floats(rtau2) - res.tau2[:nr]))),
                }
            rows[(m, k)] = row
            print(f"(b) batch REML + HKSJ, m = {m:,}, k = {k} (wall seconds)")
            for tool, d in row.items():
                ext = f" (extrapolated from {d['n']:,} rows)" if d["extrapolated"] else ""
                print(
                    f"    {tool:17s} {d['seconds']:9.4f} s  {d['seconds'] / row['metaacu']['seconds']:8.1f}× metaacu"
                    f"  failures {d['fails']}/{d['n']:,}{ext}",
                    flush=True,
                )
    return {"rows": rows, "sub_sm": sub_sm, "sub_r": sub_r, "memory": memory(quick)}


#: The child process of :func:`memory`: simulate, fit, report the peak resident set size.
MEMORY_CODE = """
import json, resource, time
import numpy as np
from metaacu.batch import meta_analysis_batch
def status(field):  # MB, from /proc/self/status (Linux)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
m, k = {m}, 10
rng = np.random.default_rng({seed})
v = rng.uniform(0.01, 0.2, (m, k)); y = rng.normal(0.2, np.sqrt(v + 0.05))
meta_analysis_batch(y[:100], v[:100], method="REML", test="knha")
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
    fh.write("5")
t0 = time.perf_counter()
res = meta_analysis_batch(y, v, method="REML", test="knha")
sec = time.perf_counter() - t0
peak = status("VmHWM")
fails = int((res.error != 0).sum() + (~res.converged).sum())
print(json.dumps({{"m": m, "seconds": sec, "rss_before": before, "rss_peak": peak,
                  "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "inputs_mb": (y.nbytes + v.nbytes) / 2**20, "fails": fails}}))
"""


def memory(quick: bool) -> dict[str, Any]:
    """Peak RSS of a fresh process fitting 10⁶ rows of k = 10 (REML, HKSJ)."""
    m = 200_000 if quick else 1_000_000
    print(f"(b) memory: {m:,} rows in a fresh process ...", flush=True)
    out: dict[str, Any] = json.loads(run_python(MEMORY_CODE.format(m=m, seed=SEED + 2), python_env()))
    print(
        f"    peak RSS {out['rss_peak']:.0f} MB (before the fit {out['rss_before']:.0f} MB, inputs "
        f"{out['inputs_mb']:.0f} MB), {out['seconds']:.2f} s, failures {out['fails']}",
        flush=True,
    )
    return out
