"""Correlation coefficients, as metafor's escalc: the raw correlation (``"COR"``), its bias-corrected
version (``"UCOR"``) and Fisher's r-to-z transformation (``"ZCOR"``).  Data: ``correlation`` (r, in
[-1, 1]) and ``n`` (the sample size).

* COR: ``r``;  UCOR: ``r ₂F₁(1/2, 1/2; (n − 2)/2; 1 − r²)`` (Olkin & Pratt 1958, eq. 2.3; needs n ≥ 5);
* their variance, ``vtype="LS"``: ``(1 − y²)²/(n − 1)`` with y the (corrected) coefficient;
  ``"AV"``: the same with the n-weighted mean of the studies' y; ``"UB"`` (UCOR only): the unbiased
  ``y² − 1 + (n − 3)/(n − 2) (1 − r²) ₂F₁(1, 1; n/2; 1 − r²)`` (Hedges 1989, exact form);
* ZCOR: ``atanh r = log((1 + r)/(1 − r))/2``, variance ``1/(n − 3)`` (Fisher 1921).

As metafor, which gives no sampling variance for n ≤ 3, every measure needs n ≥ 4.  r = ±1 has no
sampling variance (COR, UCOR) or no finite z (ZCOR): such a study is refused, named.

References
----------
Olkin I, Pratt JW. Unbiased estimation of certain correlation coefficients. Ann Math Stat
1958;29:201-211.
Hedges LV. An unbiased correction for sampling error in validity generalization studies. J Appl Psychol
1989;74:469-477.
Fisher RA. On the "probable error" of a coefficient of correlation deduced from a small sample. Metron
1921;1:3-32.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, special

from .escalc_family import Family, Options

__all__ = ["CORRELATION", "correlation_yi_vi", "hyp2f1_unit"]

F64 = NDArray[np.float64]

#: From this c on, the Gauss series converges in a few hundred terms on the whole of 0 <= z <= 1.
_SERIES_FROM = 10.0


def _hyp2f1_one(a: float, c: float, z: float) -> float:
    if z == 0:  # r = ±1: exactly 1
        return 1.0
    if c >= _SERIES_FROM:
        term = total = 1.0
        for k in range(5000):
            term *= (a + k) ** 2 / ((c + k) * (k + 1)) * z
            total += term
            if abs(term) <= 1e-17 * total:
                return total
        return math.nan  # pragma: no cover - the series converges for c >= 10
    if a == 0.5:  # Euler's integral with t = sin²θ: Γ(c)/(Γ(1/2)Γ(c - 1/2)) ∫ 2 cos^(2c-2)θ (1 - z sin²θ)^(-1/2) dθ
        val = integrate.quad(
            lambda th: 2 * math.cos(th) ** (2 * c - 2) / math.sqrt(1 - z * math.sin(th) ** 2),
            0,
            math.pi / 2,
            epsabs=0,
            epsrel=1e-13,
            limit=200,
        )[0]
        return float(val / math.exp(special.betaln(0.5, c - 0.5)))
    # a = 1: (c - 1) ∫ (1 - t)^(c-2) / (1 - z t) dt with 1 - t = s²
    integral = integrate.quad(
        lambda s: 2 * s ** (2 * c - 3) / ((1 - z) + z * s * s), 0, 1, epsabs=0, epsrel=1e-13, limit=200
    )[0]
    return float((c - 1) * integral)


def hyp2f1_unit(a: float, c: F64, z: F64) -> F64:
    """Gauss's hypergeometric function ``₂F₁(a, a; c; z)`` for ``a`` = 1/2 or 1, ``0 <= z <= 1`` and
    ``c > 2a`` (the cases of UCOR), to about 1e-14: the Gauss series for ``c >= 10``, Euler's integral by
    adaptive quadrature below.  (``scipy.special.hyp2f1`` returns NaN for large c near z = 1.)"""
    cz = np.broadcast_arrays(np.asarray(c, dtype=np.float64), np.asarray(z, dtype=np.float64))
    return np.array([_hyp2f1_one(a, float(ci), float(zi)) for ci, zi in zip(*(x.ravel() for x in cz), strict=True)])


def correlation_yi_vi(code: str, d: Mapping[str, F64], opt: Options) -> tuple[F64, F64]:
    """Effect sizes and sampling variances of a correlation measure (COR, UCOR, ZCOR)."""
    r, n = d["correlation"], d["n"]
    if code == "ZCOR":
        with np.errstate(divide="ignore"):
            return np.arctanh(r), 1 / (n - 3)
    y = r * hyp2f1_unit(0.5, (n - 2) / 2, 1 - r**2) if code == "UCOR" else r
    if opt.vtype == "UB":
        return y, y**2 - (1 - (n - 3) / (n - 2) * (1 - r**2) * hyp2f1_unit(1.0, n / 2, 1 - r**2))
    if opt.vtype == "AV":
        mean = np.sum(n * y) / np.sum(n)
        return y, (1 - mean**2) ** 2 / (n - 1)
    return y, (1 - y**2) ** 2 / (n - 1)


_ZERO_VARIANCE = "a correlation of -1 or 1 has sampling variance 0"
#: Correlation coefficients with their sample sizes.
CORRELATION: Final = Family(
    columns=("correlation", "n"),
    kinds={"correlation": "correlation", "n": "total"},
    compute=correlation_yi_vi,
    undefined={
        "COR": _ZERO_VARIANCE,
        "UCOR": _ZERO_VARIANCE,
        "ZCOR": "Fisher's z of a correlation of -1 or 1 is infinite",
    },
    vtypes={"COR": ("LS", "AV"), "UCOR": ("LS", "UB", "AV")},
    minimum_n={
        "COR": (4, "as metafor, which gives no sampling variance for n <= 3"),
        "ZCOR": (4, "its variance 1/(n - 3) needs n > 3"),
        "UCOR": (5, "the bias correction of Olkin & Pratt needs n > 4"),
    },
)
