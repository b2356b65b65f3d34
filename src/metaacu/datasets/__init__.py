"""Small teaching datasets shipped with metaacu.

``bcg()``: the 13 BCG vaccine trials (Colditz GA et al. JAMA 1994;271:698-702, Table 1), exported
from R package metadat's ``dat.bcg`` (version 1.2-0) with ``n1 = tpos + tneg`` and ``n2 = cpos + cneg``.
Columns: trial, year, tpos (TB cases, vaccinated), n1, cpos (TB cases, control), n2, ablat (absolute
latitude), alloc (allocation method).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["bcg"]


def bcg() -> pd.DataFrame:
    """The BCG vaccine trials (13 rows); see the module docstring for the source."""
    with resources.files(__package__).joinpath("bcg.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)
