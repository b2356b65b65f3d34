"""What every benchmark section shares: the simulated data, the timers, the R runner, fresh processes
and the description of the machine and software."""

from __future__ import annotations

import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 20260
TAU2_TRUE = 0.05  # true between-study variance of the simulated data
MU_TRUE = 0.2
HAVE_R = shutil.which("Rscript") is not None


def simulate(m: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """m meta-analyses of k studies: vi ~ U(0.01, 0.2), θ ~ N(μ, τ²), yi ~ N(θ, vi)."""
    v = rng.uniform(0.01, 0.2, (m, k))
    y = rng.normal(MU_TRUE, np.sqrt(v + TAU2_TRUE))
    return y, v


def datasets(k: int, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` simulated datasets of ``k`` studies (1-D ``y``, ``v``)."""
    y, v = simulate(n, k, np.random.default_rng(seed))
    return [(y[i].copy(), v[i].copy()) for i in range(n)]


# ------------------------------------------------------------------------------------------- timers
def cpu_per_call(fun: Callable[..., Any], data: Sequence[tuple[np.ndarray, np.ndarray]], min_time: float) -> float:
    """CPU seconds per call of ``fun(y, v)``, cycling through ``data`` for at least ``min_time``;
    the best of 3 such passes (warm-up first)."""
    for y, v in data[:3]:
        fun(y, v)
    best = np.inf
    for _ in range(3):
        n, t0 = 0, time.process_time()
        while True:
            for y, v in data:
                fun(y, v)
            n += len(data)
            elapsed = time.process_time() - t0
            if elapsed >= min_time:
                break
        best = min(best, elapsed / n)
    return float(best)


def wall_best(fun: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Best wall-clock seconds of ``repeats`` calls of ``fun()``, the CPU seconds of that call, and
    the last result."""
    best, cpu, out = np.inf, np.nan, None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fun()
        wall, c = time.perf_counter() - w0, time.process_time() - c0
        if wall < best:
            best, cpu = wall, c
    return float(best), float(cpu), out


# ------------------------------------------------------------------------------------------- processes
def python_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh Python process that imports this checkout's metaacu."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def process_seconds(code: str, runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall-clock seconds of ``runs`` fresh ``python -c code`` processes, from start to exit."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env or python_env(), capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def median(x: Sequence[float]) -> float:
    return float(statistics.median(x))


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh Python process; its standard output."""
    proc = subprocess.run(
        [sys.executable, "-c", code], check=True, env=env or python_env(), capture_output=True, text=True
    )
    return proc.stdout


# ------------------------------------------------------------------------------------------- R
def write_matrix(path: Path, a: np.ndarray) -> Path:
    np.savetxt(path, np.atleast_2d(a), delimiter=",", fmt="%.17g")
    return path


def run_r(script: str, rows: list[dict[str, Any]], tmp: Path, name: str) -> list[list[str]]:
    """Run the R ``script`` with one argument, a CSV of the job ``rows``; its tab-separated output
    lines, split."""
    spec = tmp / f"{name}_spec.csv"
    with open(spec, "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    path = tmp / f"{name}.R"
    path.write_text(script)
    proc = subprocess.run(["Rscript", str(path), str(spec)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{name}.R failed:\n{proc.stderr[-2000:]}")
    return [line.split("\t") for line in proc.stdout.splitlines()]


def floats(text: str) -> np.ndarray:
    """R's comma-separated numbers (``NA`` becomes NaN)."""
    return np.array([np.nan if x == "NA" else float(x) for x in text.split(",")])


def r_version() -> str:
    if not HAVE_R:
        return "R not found"
    code = 'cat(R.version.string, as.character(packageVersion("metafor")), sep = "\\t")'
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True).stdout
    r, mf = out.split("\t")
    return f"{r}, metafor {mf}"


# ------------------------------------------------------------------------------------------- machine
def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}; {os.cpu_count()} cores; {mem} RAM; {platform.system()} {platform.release()}"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def software() -> str:
    import numba
    import pymare
    import scipy
    import statsmodels

    import metaacu

    return (
        f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"numba {numba.__version__} ({numba.get_num_threads()} threads), metaacu {metaacu.__version__}, "
        f"statsmodels {statsmodels.__version__}, PyMARE {pymare.__version__}, {r_version()}"
    )
