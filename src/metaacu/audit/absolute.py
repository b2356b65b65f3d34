"""Absolute effects for the Summary of findings: risk differences and NNT for ratios, natural units for
standardised mean differences.

* Ratio measures (Cochrane Handbook 5.1 section 12.5.4.2): with an assumed control risk ``ACR``, the
  risk difference is ``ACR x (RR - 1)`` (its CI from the RR's CI) and the number needed to treat is
  ``1 / RD``, rounded up; the risk with acupuncture is capped at 1.  The control risk is that of the
  deciding evidence (control-arm events over control-arm total, said so in the text); without arm
  counts it is "not computable".
* Standardised mean differences (section 12.6.4): multiplied by a typical SD of a named instrument
  (an ``outcomes.csv`` row with its source) to give points on that scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .data import Dataset, table_row

__all__ = ["AbsoluteEffect", "natural_units", "risk_difference"]


@dataclass(frozen=True)
class AbsoluteEffect:
    """An effect on an absolute or natural scale, with what it rests on."""

    text: str
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    basis: str = ""


def risk_difference(rr: float, rr_low: float, rr_high: float, control_risk: float, basis: str) -> AbsoluteEffect:
    """Risk difference per 1000 and NNT at ``control_risk`` (a proportion) for a risk ratio with its CI.

    Examples
    --------
    >>> risk_difference(0.92, 0.8, 1.05, 0.3, "assumed").text  # Handbook 5.1 section 12.5.4.2 example
    '24 fewer per 1000 (60 fewer to 15 more); NNT 42'
    """
    # the risk with acupuncture cannot exceed 1: corresponding risk = min(1, ACR x RR)
    per = [1000 * (min(1.0, control_risk * x) - control_risk) for x in (rr, rr_low, rr_high)]

    def words(v: float) -> str:
        return f"{abs(v):.0f} {'more' if v >= 0 else 'fewer'}"

    text = f"{words(per[0])} per 1000 ({words(per[1])} to {words(per[2])})"
    rd = min(1.0, control_risk * rr) - control_risk
    if rd != 0:
        nnt = math.ceil(abs(1 / rd) - 1e-9)
        text += f"; NNT {nnt}"  # the audit's ratio outcomes are all responders (benefit)
    return AbsoluteEffect(text, per[0], per[1], per[2], basis)


def natural_units(smd: float, low: float, high: float, ds: Dataset, row_id: str) -> AbsoluteEffect:
    """An SMD times the SD of outcome row ``row_id``: points on that row's instrument."""
    r = table_row(ds.outcomes.set_index("row_id"), row_id)
    sd = float(r["sd"])
    lo_b, hi_b = (float(r[c]) if not pd.isna(r[c]) else math.nan for c in ("scale_min", "scale_max"))
    scale = f" ({lo_b:g}-{hi_b:g})" if not math.isnan(lo_b) and f"{lo_b:g}-{hi_b:g}" not in str(r["instrument"]) else ""
    basis = f"SD {sd:g} of {r['instrument']} ({r['source']}, {r['locator']})"
    vals = [smd * sd, low * sd, high * sd]
    text = f"about {vals[0]:.1f} points on {r['instrument']}{scale} (95% CI {vals[1]:.1f} to {vals[2]:.1f})"
    return AbsoluteEffect(text, vals[0], vals[1], vals[2], basis)
