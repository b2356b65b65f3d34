"""The claims audit: an article's claims about acupuncture for back pain, tested on its own evidence.

A separate product built on the meta-analysis library (:mod:`metaacu`), which never imports it.
Data flow: the extraction tables and the claims registry (``data/``, see :mod:`.data` and
:mod:`.claims`) → evidence on the benefit scale → pooled model → verdict (:mod:`.rules`) →
figures (:mod:`.figures`) and reports (:mod:`.report`); :func:`reproduce` writes everything into a
results folder.

The data folder is ``$METAACU_DATA`` when set, else the ``data/`` folder of the repository this
package was installed from (an editable install or a clone); every loader also takes an explicit
folder.
"""

from __future__ import annotations

from .claims import ClaimResult, audit_claims, evaluate_claim, load_registry
from .data import Dataset, default_data_dir, load_dataset
from .reproduce import reproduce, verify_results

__all__ = [
    "ClaimResult",
    "Dataset",
    "audit_claims",
    "default_data_dir",
    "evaluate_claim",
    "load_dataset",
    "load_registry",
    "reproduce",
    "verify_results",
]
