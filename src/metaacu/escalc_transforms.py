"""Measures that put the two-group and one-group data of ``escalc.py`` on another scale, as metafor's
``escalc``: the arcsine risk difference (``"AS"``), the log odds ratio as a standardised mean difference
(``"OR2DN"``, ``"OR2DL"``, ``"OR2D"``), Cohen's d as a log odds ratio (``"D2ORN"``, ``"D2ORL"``,
``"D2OR"``), and the arcsine (``"PAS"``) and Freeman-Tukey double-arcsine (``"PFT"``) proportions.

Each function takes the corrected arrays (cells with ``add`` where it applied; metafor adds nothing by
default for AS, PAS and PFT, which are defined at zero counts) and returns ``(yi, vi)``.

References
----------
Rücker G, Schwarzer G, Carpenter J, Olkin I. Why add anything to nothing? The arcsine difference as a
measure of treatment effect in meta-analysis with zero cells. Stat Med 2009;28:721-738 (AS).
Freeman MF, Tukey JW. Ann Math Stat 1950;21:607-611 (PFT).
Hasselblad V, Hedges LV. Meta-analysis of screening and diagnostic tests. Psychol Bull 1995;117:167-178;
Chinn S. Stat Med 2000;19:3127-3131 (logistic conversion).
Cox DR, Snell EJ. Analysis of Binary Data, 2nd ed. 1989 (normal conversion, 1.65).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .conversions import LATENT_SCALES

__all__ = ["LATENT", "UNDEFINED", "arcsine_difference", "d_to_log_or", "log_or_to_d", "proportion_transform"]

F64 = NDArray[np.float64]

#: The latent distribution of each conversion measure (metafor: "OR2D" is "OR2DL", "D2OR" is "D2ORL").
LATENT: Final = {
    "OR2DN": "normal",
    "OR2DL": "logistic",
    "OR2D": "logistic",
    "D2ORN": "normal",
    "D2ORL": "logistic",
    "D2OR": "logistic",
}

_CONTINUITY = "use a continuity correction (add, to) or another measure"
#: Why each measure can be undefined for a study, for the error message.
UNDEFINED: Final[dict[str, str]] = {
    "AS": "an arm without participants",
    **{
        m: f"an odds of 0 or infinity in an arm with no correction (no events, or all events); {_CONTINUITY}"
        for m in ("OR2DN", "OR2DL", "OR2D")
    },
    **{m: "the pooled SD is 0 or Cohen's d is not finite (check the SDs' units)" for m in ("D2ORN", "D2ORL", "D2OR")},
    "PAS": "a group without participants",
    "PFT": "a group without participants",
}


def arcsine_difference(d: Mapping[str, F64]) -> tuple[F64, F64]:
    """``AS``: ``asin √p1 − asin √p2``, variance ``1/(4 n1) + 1/(4 n2)`` (Rücker et al. 2009)."""
    n1, n2 = d["n1"], d["n2"]
    yi = np.arcsin(np.sqrt(d["events1"] / n1)) - np.arcsin(np.sqrt(d["events2"] / n2))
    return yi, 1 / (4 * n1) + 1 / (4 * n2)


def log_or_to_d(code: str, log_or: F64, var: F64) -> tuple[F64, F64]:
    """``OR2DN``/``OR2DL``: the log odds ratio (and its variance) times the latent scale (1/1.65 or √3/π)."""
    f = LATENT_SCALES[LATENT[code]]
    return log_or * f, var * f**2


def d_to_log_or(code: str, d: Mapping[str, F64]) -> tuple[F64, F64]:
    """``D2ORN``/``D2ORL``: Cohen's d with the pooled SD (no small-sample correction, as metafor) divided by
    the latent scale, with the large-sample variance of d, ``1/n1 + 1/n2 + d²/(2(n1 + n2))``, scaled alike."""
    n1, n2 = d["n1"], d["n2"]
    sp = np.sqrt(((n1 - 1) * d["sd1"] ** 2 + (n2 - 1) * d["sd2"] ** 2) / (n1 + n2 - 2))
    cohen = (d["mean1"] - d["mean2"]) / sp
    f = 1.0 / LATENT_SCALES[LATENT[code]]
    return f * cohen, f**2 * (1 / n1 + 1 / n2 + cohen**2 / (2 * (n1 + n2)))


def proportion_transform(code: str, x: F64, n: F64) -> tuple[F64, F64]:
    """``PAS``: ``asin √(x/n)``, variance ``1/(4n)``; ``PFT``: ``(asin √(x/(n + 1)) + asin √((x + 1)/(n + 1)))/2``,
    variance ``1/(4n + 2)`` (Freeman & Tukey 1950)."""
    if code == "PAS":
        return np.arcsin(np.sqrt(x / n)), 1 / (4 * n)
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))), 1 / (4 * n + 2)
