"""Every numeric tolerance of the suite, with why it is what it is, and the reference-fixture loader.

Tests import from here (``pyproject.toml`` puts ``tests/`` on ``sys.path``) instead of defining their
own, so a tolerance is argued once.  A tolerance loose enough to hide a real difference is a defect:
each is the smallest that the cause named beside it allows.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

#: Folder of the metafor fixtures (``*.json``) and the R scripts that write them.
REFERENCE = Path(__file__).resolve().parent / "reference"

# ----------------------------------------------------------------------------- against metafor
#: Closed forms (effect sizes; EE, DL, HE, HS, SJ; MH and Peto): metaacu and metafor do the same
#: arithmetic in a different order, so only rounding separates them.
RTOL_CLOSED = 1e-10
#: Iterative τ² (REML, ML, PM, EB) and Q-profile bounds against metafor run with
#: threshold = tol = 1e-12: both sides are converged far below this; what is left is the
#: conditioning of the score equation.
RTOL_ITER = 1e-8
#: Absolute floor for quantities that are 0 in exact arithmetic (Q of identical yi, KH factor ...).
ATOL = 1e-12
#: metafor's Fisher scoring approaches a boundary estimate τ² = 0 from above and stops at
#: |Δτ²| <= 1e-12, leaving τ² of order 1e-13 where metaacu returns exactly 0.
ATOL_TAU2_ITER = 1e-10
#: The same at the boundary for derived quantities (τ², I², R² of subgroups and meta-regression:
#: metafor stops at τ² ~ 1e-12, I² ~ 1e-10 %).
BOUNDARY_ATOL = 1e-8
#: REML against metafor at its defaults (threshold = 1e-5 on |Δτ²|, maxiter = 100): the default
#: agrees to display precision only, documenting why the reference uses tight control.
RTOL_DEFAULT = 1e-3
ATOL_DEFAULT = 1e-4
#: Maximisers found by R's optimize() (golden section) are accurate to about sqrt(machine eps).
RTOL_OPTIMIZE = 1e-6
#: Multilevel models (rma.mv) at their optimum: metafor's nlminb works with finite-difference
#: gradients and stops (rel.tol = 1e-12) where the restricted likelihood changes by < 1e-12 but flat
#: directions (a correlation and the variances it couples, Berkey HCS) have moved by up to 2e-5
#: relative; metaacu's Fisher scoring has an exact score, and its likelihood is never lower
#: (checked separately, to LOGLIK_MV).  At metafor's own estimates the formulas agree to RTOL_ITER.
RTOL_MV = 5e-5
#: metaacu's maximised log-likelihood is at least metafor's, less this.
LOGLIK_MV = 1e-10
#: Profile-likelihood bounds of rma.mv variance components: metafor's uniroot (tol = 1e-10) on refits
#: at its default nlminb control, whose maxima are accurate to ~1e-10 in ℓ; observed agreement 4e-8.
RTOL_PROFILE_MV = 1e-6
#: Closed forms with a model matrix whose normal equations are ill-conditioned (an uncentred year:
#: cond(XᵀX) ~ 1e11-1e12, metafor_genq.json): the two sides solve them with different rounding, which
#: the condition number amplifies; observed 3.3e-10 relative on coefficients and QM.
RTOL_ILL_CONDITIONED = 1e-9
#: metafor's confint() of GENQ/GENQM fits calls uniroot() without its control's tol (3.8-1 and 5.x), so
#: its bounds are accurate to uniroot's default, .Machine$double.eps^0.25 = 1.22e-4, absolute.
ATOL_UNIROOT_DEFAULT = 1.23e-4
#: Fixture values written with 15 significant digits.
RTOL_15 = 1e-13
#: metafor's hc() integrates with R's integrate() at its default rel.tol (~1.2e-4; the error it
#: reaches is far smaller): Henmi-Copas half-widths agree to this, relative.
RTOL_INTEGRATE = 1e-5

# ----------------------------------------------------------------------------- metaacu against itself
#: Two metaacu code paths with the same formulas (a batch row and the single fit, both the numba
#: kernel; the kernel compiled and under NUMBA_DISABLE_JIT; a design-matrix fit and the intercept-only
#: one): at most the same sums in a different order.
RTOL_PATHS = 1e-12

# ----------------------------------------------------------------------------- Monte Carlo
#: Random permutation p-values against metafor's (R's and NumPy's random streams differ): both are
#: binomial proportions; they must agree within this many standard errors of their difference
#: (two-sided 4.5 sigma: a false alarm about once in 150,000 comparisons).
MC_SIGMAS = 4.5


@cache
def reference(name: str) -> dict[str, Any]:
    """The metafor fixture ``tests/reference/metafor_<name>.json`` (``"rma"``, ``"escalc"``,
    ``"toolkit_a"``, ``"toolkit_b"``)."""
    return json.loads((REFERENCE / f"metafor_{name}.json").read_text(encoding="utf-8"))
