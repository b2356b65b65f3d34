"""Change within one group measured twice (or two matched groups), as metafor's escalc: the raw mean
change (``"MC"``), standardised mean changes with change-score (``"SMCC"``) or raw-score
standardisation (``"SMCR"``; ``"SMCRH"`` without assuming equal variances at the two occasions), and the
log ratio of means for paired data (``"ROMC"``).

Data, in metafor's order and meaning: ``mean1, sd1`` and ``mean2, sd2`` at the two measurement
occasions, their correlation ``correlation`` and the number of participants ``n``; the change is
``mean1 − mean2``, so give the post-test as occasion 1 for change from baseline.  ``"SMCR"`` and
``"SMCRH"`` standardise by ``sd1``, which metafor's users set to the **pre-test** SD (``"SMCR"`` takes
no ``sd2``); ``"ROMC"`` and the change-score SD pair ``sd1`` with ``mean1``.  A reported SD of change
can be given as ``sd1`` with ``sd2 = 0`` and ``correlation = 0`` (MC, SMCC).

With ``J = J(n − 1)`` (Hedges' exact correction), ``SD_d = √(sd1² + sd2² − 2 r sd1 sd2)``:

* MC: ``mean1 − mean2``, ``SD_d²/n``;
* SMCC: ``J (mean1 − mean2)/SD_d``; ``vtype="LS"``: ``1/n + g²/(2n)`` (Gibbons et al. 1993 with n);
  ``"LS2"``: ``J² (1/n + d²/(2n))``;
* SMCR: ``J (mean1 − mean2)/sd1``; ``"LS"``: ``2(1 − r)/n + g²/(2n)`` (Becker 1988, eq. 13); ``"LS2"``:
  ``J² (2(1 − r)/n + d²/(2n))``;
* SMCRH: ``J (mean1 − mean2)/sd1``, ``SD_d²/(sd1² (n − 1)) + g²/(2(n − 1))`` (Bonett 2008, eq. 13);
  metafor 3.8 multiplied this by J², metafor ≥ 4.6 does not (``convention=``);
* ROMC: ``log(mean1/mean2)``, ``(sd1²/mean1² + sd2²/mean2² − 2 r sd1 sd2/(mean1 mean2))/n``
  (Lajeunesse 2011, eq. 6); ``correct=True`` adds metafor ≥ 5.0's default bias correction
  ``(sd1²/mean1² − sd2²/mean2²)/(2n)`` (Senior et al. 2020, eq. 7).

References
----------
Becker BJ. Synthesizing standardized mean-change measures. Br J Math Stat Psychol 1988;41:257-278.
Gibbons RD, Hedeker DR, Davis JM. Estimation of effect size from a series of experiments involving
paired comparisons. J Educ Stat 1993;18:271-279.
Bonett DG. Confidence intervals for standardized linear contrasts of means. Psychol Methods 2008;13:99-109.
Lajeunesse MJ. On the meta-analysis of response ratios for studies with correlated and multi-group
designs. Ecology 2011;92:2049-2055.
Senior AM, Viechtbauer W, Nakagawa S. Revisiting and expanding the meta-analysis of variation: the log
coefficient of variation ratio. Res Synth Methods 2020;11:553-567.
Morris SB, DeShon RP. Combining effect size estimates in meta-analysis with repeated measures and
independent-groups designs. Psychol Methods 2002;7:105-125.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .escalc_family import Family, Options, hedges_j

__all__ = ["PAIRED", "paired_yi_vi"]

F64 = NDArray[np.float64]

_J = (3, "Hedges' correction J(n - 1) needs n - 1 > 1")


def paired_yi_vi(code: str, d: Mapping[str, F64], opt: Options) -> tuple[F64, F64]:
    """Effect sizes and sampling variances of a paired-data measure (MC, SMCC, SMCR, SMCRH, ROMC)."""
    n, m1, m2, s1, r = d["n"], d["mean1"], d["mean2"], d["sd1"], d["correlation"]
    if code == "SMCR":
        j = hedges_j(n - 1)
        cohen = (m1 - m2) / s1
        if opt.vtype == "LS2":
            return j * cohen, j**2 * (2 * (1 - r) / n + cohen**2 / (2 * n))
        return j * cohen, 2 * (1 - r) / n + (j * cohen) ** 2 / (2 * n)
    s2 = d["sd2"]
    var_d = s1**2 + s2**2 - 2 * r * s1 * s2  # variance of the change scores
    if code == "MC":
        return m1 - m2, var_d / n
    if code == "ROMC":
        with np.errstate(divide="ignore", invalid="ignore"):
            yi = np.log(m1 / m2)
        if opt.correct:
            yi = yi + 0.5 * (s1**2 / (n * m1**2) - s2**2 / (n * m2**2))
        return yi, s1**2 / (n * m1**2) + s2**2 / (n * m2**2) - 2 * r * s1 * s2 / (m1 * m2 * n)
    j = hedges_j(n - 1)
    if code == "SMCRH":
        g = j * (m1 - m2) / s1
        v = var_d / (s1**2 * (n - 1)) + g**2 / (2 * (n - 1))
        return g, j**2 * v if opt.convention == "metafor3.8" else v
    with np.errstate(invalid="ignore"):
        cohen = (m1 - m2) / np.sqrt(var_d)
    if opt.vtype == "LS2":
        return j * cohen, j**2 * (1 / n + cohen**2 / (2 * n))
    return j * cohen, 1 / n + (j * cohen) ** 2 / (2 * n)


_COLUMNS = ("n", "mean1", "sd1", "mean2", "sd2", "correlation")
#: The paired-data family (registered in ``escalc.py``).
PAIRED: Final = Family(
    columns=_COLUMNS,
    kinds={"n": "sample_size", "mean1": "mean", "mean2": "mean", "sd1": "sd_or_zero", "sd2": "sd_or_zero"}
    | {"correlation": "correlation"},
    compute=paired_yi_vi,
    undefined={
        "MC": "the variance of the change scores sd1² + sd2² - 2 r sd1 sd2 is 0 (equal SDs and correlation 1)",
        "SMCC": "the SD of the change scores is 0 (equal SDs and correlation 1) or the standardised change is "
        "not finite",
        "SMCR": "the standardising SD sd1 is 0, or the standardised change is not finite (check the SDs' units)",
        "SMCRH": "the standardising SD sd1 is 0, or the standardised change is not finite (check the SDs' units)",
        "ROMC": "the log ratio of means needs means of the same sign at both occasions, neither of them 0, "
        "and a positive variance",
    },
    measure_columns={"SMCR": ("n", "mean1", "sd1", "mean2", "correlation")},
    vtypes={"SMCC": ("LS", "LS2"), "SMCR": ("LS", "LS2")},
    minimum_n={"SMCC": _J, "SMCR": _J, "SMCRH": _J},
)
