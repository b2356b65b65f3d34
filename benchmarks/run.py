"""metaacu benchmarks: one command, one run, the same simulated data for every tool.

    .venv/bin/python benchmarks/run.py [--quick] [--no-readme]

(a) ``single.py``: one full REML fit (estimate, CI, Q, I², prediction interval) for k = 10 ... 10,000:
    metaacu vs PyMARE, statsmodels and R metafor ``rma`` + ``predict``; the log-log plot ``cost_vs_k.png``;
(b) ``batch.py``: 10⁵ REML meta-analyses with the HKSJ CI, τ², I² and PI vs PyMARE's vectorised
    estimator, one numpy DerSimonian-Laird pass, statsmodels and metafor loops; 10⁶ rows' peak memory;
(c) ``large_k.py``: leave-one-out (vs metafor ``leave1out``), influence, cumulative, rank test at k =
    1,000 and 5,000;
(d) ``startup.py``: fresh processes (``import metaacu``, import + one fit) and numba's compile cache;
(e) ``multilevel.py``: a three-level model (``rma.mv(random = ~ 1 | study/es)``) vs metafor.

Prints every figure as it is measured and (unless ``--no-readme``) rewrites ``benchmarks/README.md``
(``readme.py``) with the figures of this run, its "Targets" table first.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import batch
import large_k
import multilevel
import readme
import single
import startup
from common import HERE, load_average, software


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes and subsamples (a few minutes)")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite benchmarks/README.md")
    opts = ap.parse_args(argv)
    import pymare  # noqa: F401  - import first: both set warning filters on import
    import statsmodels.stats.meta_analysis  # noqa: F401

    warnings.simplefilter("ignore")  # statsmodels/PyMARE chatter must not distort the timings
    load_start = load_average()
    results: dict = {"startup": startup.run(opts.quick)}  # first: before this process loads anything heavy
    tmp = Path(tempfile.mkdtemp(prefix="metaacu_bench_"))
    try:
        results["single"] = single.run(opts.quick, tmp)
        results["batch"] = batch.run(opts.quick, tmp)
        results["large_k"] = large_k.run(opts.quick, tmp)
        results["multilevel"] = multilevel.run(opts.quick, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {single.PNG}")
    if not opts.no_readme:
        readme.write(results, opts.quick, software(), (load_start, load_average()))
        print(f"wrote {HERE / 'README.md'}")
        print("\n".join(readme.targets(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
