"""Section (d): fresh processes — ``import metaacu`` alone, ``import metaacu`` and one fit (after a first
run has filled numba's cache), and the cache itself (a process with an empty cache directory, then a
second one reusing it)."""

from __future__ import annotations

import json
import tempfile
from typing import Any

from common import median, process_seconds, python_env, run_python

FIT = "import metaacu; metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])"
#: Where the first fit's time goes, stage by stage, in one fresh process (seconds).
STAGES = """
import json, time
t0 = time.perf_counter()
import metaacu
t1 = time.perf_counter()
from metaacu import pooling  # NumPy, SciPy's special functions, pandas (the result's frames), metaacu's modules
t2 = time.perf_counter()
import numba
t3 = time.perf_counter()
metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])  # numba loads the cached kernel
t4 = time.perf_counter()
metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])
t5 = time.perf_counter()
print(json.dumps({"import metaacu": t1 - t0, "its modules (pooling and what it imports)": t2 - t1,
                  "import numba": t3 - t2, "first fit (numba's start-up, the cached kernel)": t4 - t3,
                  "second fit": t5 - t4}))
"""
#: Which numba modules a bare import loads (none should).
NUMBA_LOADED = "import sys, metaacu; assert 'numba' not in sys.modules, 'import metaacu loaded numba'"


def run(quick: bool) -> dict[str, Any]:
    runs = 5 if quick else 9
    process_seconds(NUMBA_LOADED, 1)  # raises if a bare import loads numba
    process_seconds(FIT, 1)  # the first run on this machine fills the cache (if it is not full already)
    out: dict[str, Any] = {
        "runs": runs,
        "python": process_seconds("pass", runs),
        "import": process_seconds("import metaacu", runs),
        "fit": process_seconds(FIT, runs),
    }
    with tempfile.TemporaryDirectory(prefix="metaacu_numba_cache_") as cache:
        env = python_env(NUMBA_CACHE_DIR=cache)
        out["cold"] = process_seconds(FIT, 1, env)[0]
        out["warm"] = median(process_seconds(FIT, 3, env))
    stages = [json.loads(run_python(STAGES)) for _ in range(3 if quick else 5)]
    out["stages"] = {key: median([s[key] for s in stages]) for key in stages[0]}
    for key in ("python", "import", "fit"):
        out[key] = {"median": median(out[key]), "min": min(out[key]), "max": max(out[key])}
    print(
        f"(d) fresh process, median of {runs}: python -c pass {out['python']['median']:.3f} s, "
        f"import metaacu {out['import']['median']:.3f} s, import + fit {out['fit']['median']:.3f} s; "
        f"empty numba cache {out['cold']:.2f} s, then {out['warm']:.3f} s",
        flush=True,
    )
    return out
