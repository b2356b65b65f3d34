"""Incidence rates, as metafor's escalc: of one group (``"IR"``, ``"IRLN"``, ``"IRS"``, ``"IRFT"``; data
``events, time``) and compared between two groups (``"IRR"``, ``"IRD"``; data ``events1, time1, events2,
time2``), ``time`` being the person-time at risk (any unit: the rates are per that unit).

With ``x`` events in person-time ``t`` (``x1``, ``t1`` and ``x2``, ``t2`` for two groups):

* IR: ``x/t``, ``x/t²``;  IRLN: ``log(x/t)``, ``1/x``;  IRS: ``√(x/t)``, ``1/(4t)``;
* IRFT: ``(√(x/t) + √((x + 1)/t))/2``, ``1/(4t)`` (Freeman & Tukey 1950);
* IRR: ``log(x1/t1) − log(x2/t2)``, ``1/x1 + 1/x2``;  IRD: ``x1/t1 − x2/t2``, ``x1/t1² + x2/t2²``.

Zero events: ``add`` (default 1/2) is added to the event counts of the studies chosen by ``to`` (a
study with no events in a group, for two groups in either); as metafor, IRS and IRFT, which are defined
at zero events, get nothing added by default.  Person-time must be positive.

Mantel-Haenszel pooling of IRR/IRD (metafor's ``rma.mh`` with ``x1i, t1i``):
:func:`metaacu.mantel_haenszel_rates` (``binary_rates.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .escalc_family import Family, Options, add_to_events

__all__ = ["RATE", "TWO_RATES", "rate_yi_vi", "two_rates_yi_vi"]

F64 = NDArray[np.float64]
Arrays = Mapping[str, F64]

_CONTINUITY = "use a continuity correction (add, to) or another measure"


def rate_yi_vi(code: str, d: Arrays, opt: Options) -> tuple[F64, F64]:
    """Effect sizes and sampling variances of a one-group incidence-rate measure."""
    x, t = d["events"], d["time"]
    rate = x / t
    if code == "IR":
        return rate, rate / t
    if code == "IRLN":
        with np.errstate(divide="ignore"):
            return np.log(rate), 1 / x
    if code == "IRS":
        return np.sqrt(rate), 1 / (4 * t)
    return 0.5 * (np.sqrt(rate) + np.sqrt(rate + 1 / t)), 1 / (4 * t)


def two_rates_yi_vi(code: str, d: Arrays, opt: Options) -> tuple[F64, F64]:
    """Effect sizes and sampling variances of a two-group incidence-rate measure (IRR, IRD)."""
    x1, t1, x2, t2 = d["events1"], d["time1"], d["events2"], d["time2"]
    r1, r2 = x1 / t1, x2 / t2
    if code == "IRR":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(r1) - np.log(r2), 1 / x1 + 1 / x2
    return r1 - r2, r1 / t1 + r2 / t2


#: One group's events in person-time.
RATE: Final = Family(
    columns=("events", "time"),
    kinds={"events": "rate_count", "time": "time"},
    compute=rate_yi_vi,
    undefined={
        "IR": f"its variance x/t² is 0 (no events) with no correction; {_CONTINUITY}",
        "IRLN": f"the log of a rate of 0 (no events) is infinite with no correction; {_CONTINUITY}",
        "IRS": "the rate or its variance is not finite (check the person-time)",
        "IRFT": "the rate or its variance is not finite (check the person-time)",
    },
    zero=lambda d: np.asarray(d["events"] == 0),
    corrected=lambda d, add: add_to_events(d, add, ("events",)),
    no_add=frozenset({"IRS", "IRFT"}),
)

#: Two groups' events in person-time.
TWO_RATES: Final = Family(
    columns=("events1", "time1", "events2", "time2"),
    kinds={"events1": "rate_count", "time1": "time", "events2": "rate_count", "time2": "time"},
    compute=two_rates_yi_vi,
    undefined={
        "IRR": f"a rate of 0 (no events) in a group with no correction; {_CONTINUITY}",
        "IRD": f"its variance is 0 (no events in either group) with no correction; {_CONTINUITY}",
    },
    zero=lambda d: np.asarray((d["events1"] == 0) | (d["events2"] == 0)),
    corrected=lambda d, add: add_to_events(d, add, ("events1", "events2")),
)
