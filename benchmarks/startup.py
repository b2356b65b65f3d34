"""Section (d): fresh processes — ``import metaacu`` alone, ``import metaacu`` and one fit (with the
single-fit kernels compiled ahead of time by set-up, :mod:`metaacu.kernels_aot`, and by numba's route,
``METAACU_AOT=0``, after a first run has filled its cache), and numba's cache itself (a process with an
empty cache directory, then a second one reusing it)."""

from __future__ import annotations

import json
import tempfile
from typing import Any

from common import median, process_seconds, python_env, run_python

from metaacu import kernels_aot

FIT = "import metaacu; metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])"
#: Where the first fit's time goes, stage by stage, in one fresh process (seconds).
STAGES = """
import json, sys, time
t0 = time.perf_counter()
import metaacu
t1 = time.perf_counter()
from metaacu import pooling  # NumPy, SciPy's special functions, metaacu's modules (not pandas)
t2 = time.perf_counter()
metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])  # loads the kernel
t3 = time.perf_counter()
metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])
t4 = time.perf_counter()
print(json.dumps({"import metaacu": t1 - t0, "its modules (pooling and what it imports)": t2 - t1,
                  "first fit (loads the kernel)": t3 - t2, "second fit": t4 - t3,
                  "numba loaded": "numba" in sys.modules,
                  "kernels": metaacu.kernels_aot.single_fit_kernels().__name__}))
"""
#: Which numba modules a bare import loads (none should).
NUMBA_LOADED = "import sys, metaacu; assert 'numba' not in sys.modules, 'import metaacu loaded numba'"


def _stages(n: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    stages = [json.loads(run_python(STAGES, env)) for _ in range(n)]
    first = stages[0]
    return {key: median([s[key] for s in stages]) if isinstance(val, float) else val for key, val in first.items()}


def run(quick: bool) -> dict[str, Any]:
    runs = 5 if quick else 9
    process_seconds(NUMBA_LOADED, 1)  # raises if a bare import loads numba
    numba_env = python_env(METAACU_AOT="0")
    process_seconds(FIT, 1)
    process_seconds(FIT, 1, numba_env)  # the first run on this machine fills numba's cache (if not full)
    out: dict[str, Any] = {
        "runs": runs,
        "aot": kernels_aot.is_current(),
        "python": process_seconds("pass", runs),
        "import": process_seconds("import metaacu", runs),
        "fit": process_seconds(FIT, runs),
        "fit_numba": process_seconds(FIT, runs, numba_env),
    }
    with tempfile.TemporaryDirectory(prefix="metaacu_numba_cache_") as cache:
        env = python_env(NUMBA_CACHE_DIR=cache, METAACU_AOT="0")
        out["cold"] = process_seconds(FIT, 1, env)[0]
        out["warm"] = median(process_seconds(FIT, 3, env))
    n = 3 if quick else 5
    out["stages"] = _stages(n)
    out["stages_numba"] = _stages(n, numba_env)
    for key in ("python", "import", "fit", "fit_numba"):
        out[key] = {"median": median(out[key]), "min": min(out[key]), "max": max(out[key])}
    print(
        f"(d) fresh process, median of {runs}: python -c pass {out['python']['median']:.3f} s, "
        f"import metaacu {out['import']['median']:.3f} s, import + fit {out['fit']['median']:.3f} s "
        f"({out['stages']['kernels']}), by numba {out['fit_numba']['median']:.3f} s; "
        f"empty numba cache {out['cold']:.2f} s, then {out['warm']:.3f} s",
        flush=True,
    )
    return out
