"""What the compiled kernels take and return, without numba: the integer codes of the τ² methods
and tests, and the names of the output columns.

:mod:`metaacu.kernels` (compiled on first use by numba) and the precompiled single-fit module that
:mod:`metaacu.kernels_aot` builds share these, so a caller (:func:`metaacu.fitting.fit_one`) can use
either without importing numba.
"""

from __future__ import annotations

from typing import Final

from .tau2 import TAU2_METHODS, USER_WEIGHT_METHODS

__all__ = ["FIT_FIELDS", "METHOD_CODES", "NFIT", "TEST_CODES"]

#: Integer codes of the τ² methods and tests, as the kernels take them (GENQ only with user weights).
METHOD_CODES: Final = {name: i for i, name in enumerate(TAU2_METHODS + USER_WEIGHT_METHODS)}
TEST_CODES: Final = {"z": 0, "t": 1, "knha": 2, "adhoc": 3}

#: Output columns of :func:`metaacu.kernels.fit_one` / :func:`metaacu.kernels.fit_rows`: the pooled
#: estimate, its standard error (with the Knapp-Hartung factor applied for "knha"/"adhoc"),
#: estimate/se, τ², Cochran's Q, ``tr P₀ = Σw − Σw²/Σw`` with ``w = 1/vᵢ`` (for the typical
#: within-study variance), the Knapp-Hartung factor s² (1 for z and t tests, NaN for one study),
#: solver convergence (1/0) and iterations, the local maxima of the (restricted) likelihood (ML/REML;
#: 1 otherwise), the log-likelihood at τ² and the best other maximum with its log-likelihood (NaN
#: when there is none; the log-likelihood is NaN for the other methods).
FIT_FIELDS: Final = (
    "estimate",
    "se",
    "statistic",
    "tau2",
    "q",
    "trace_p0",
    "s2",
    "converged",
    "iterations",
    "maxima",
    "loglik",
    "alt_tau2",
    "alt_loglik",
)
NFIT: Final = len(FIT_FIELDS)
