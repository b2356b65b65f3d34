"""Named convention profiles, so that a user can reproduce an analysis made with another tool.

A profile sets defaults in two places: every function that fits a model —
:func:`metaacu.meta_analysis`, :func:`metaacu.subgroup_analysis`, :func:`metaacu.meta_regression`,
:func:`metaacu.meta_analysis_batch` — takes ``profile=`` for the defaults of ``method`` (τ²
estimator), ``test`` and ``prediction`` (read by :func:`metaacu.pooling.model_options`), and
:func:`metaacu.effect_sizes` and :func:`metaacu.change_score_effect_sizes` take it for the SMD
formula (``smd_vtype``).  Effect sizes are computed before the model, so ``meta_analysis(es,
profile=...)`` cannot change them: it checks them instead (:func:`effect_size_note`) and says how to
recompute them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._validation import check_choice

__all__ = ["PREDICTIONS", "PROFILES", "Profile", "effect_size_note", "get_profile"]

#: Prediction-interval distributions (the argument ``prediction`` everywhere): ``"test"`` — the
#: test's distribution (normal for z, t with k - 1 df otherwise; metafor) — or ``"higgins"`` (t with
#: k - 2 df, Higgins, Thompson & Spiegelhalter 2009).
PREDICTIONS: Final = ("test", "higgins")


@dataclass(frozen=True)
class Profile:
    """Defaults that differ between tools.

    Attributes
    ----------
    name : str
    method : str
        τ² estimator.
    test : str
        ``"z"``, ``"t"``, ``"knha"`` or ``"adhoc"``.
    pi_method : str
        Default ``prediction``, the prediction-interval distribution: ``"test"`` (the test's: z, or t
        with k − 1 df) or ``"higgins"`` (t with k − 2 df).  Read it as :attr:`prediction`.
    smd_vtype : str
        SMD formula (``vtype``) that :func:`metaacu.effect_sizes` uses by default under this profile,
        and that :func:`metaacu.meta_analysis` checks an SMD :class:`~metaacu.EffectSizes` against.
    description : str
    """

    name: str
    method: str
    test: str
    pi_method: str
    smd_vtype: str
    description: str

    @property
    def prediction(self) -> str:
        """The profile's default ``prediction`` (stored as ``pi_method``)."""
        return self.pi_method


PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        Profile(
            "metafor",
            "REML",
            "z",
            "test",
            "LS",
            "R metafor 3.x defaults: REML, Wald z test, tau2-based I2, prediction interval with z.",
        ),
        Profile(
            "revman5",
            "DL",
            "z",
            "test",
            "RevMan5",
            "RevMan 5: DerSimonian-Laird, Wald z test, Q-based I2 (equal to tau2-based under DL), "
            "RevMan's approximate Hedges' g.",
        ),
        Profile(
            "cochrane",
            "REML",
            "knha",
            "test",
            "RevMan5",
            "Cochrane Handbook 2024 / RevMan 2025: REML, Hartung-Knapp-Sidik-Jonkman t test with k-1 df, "
            "Q-profile CI for tau2, prediction interval with t(k-1), RevMan's approximate Hedges' g.",
        ),
    )
}

_VTYPES: Final = {
    "LS": "metafor's exact-J Hedges' g with the large-sample variance",
    "UB": "metafor's exact-J Hedges' g with the unbiased variance",
    "RevMan5": "RevMan's approximate Hedges' g (J = 1 - 3/(4N - 9), variance with N - 3.94)",
}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` (``"metafor"``, ``"revman5"`` or ``"cochrane"``)."""
    return PROFILES[check_choice(name, "profile", PROFILES)]


def effect_size_note(profile: Profile, measure: str | None, options: Mapping[str, Any]) -> str | None:
    """Why effect sizes do not follow ``profile``'s convention, and how to fix it; ``None`` when they do.

    Only SMD effect sizes are checked, and only under the profiles that reproduce another tool
    (``"revman5"``, ``"cochrane"``): the default ``"metafor"`` profile makes no claim about effect
    sizes, as metafor's ``rma`` pools whatever ``escalc`` computed.  Effect sizes without a recorded
    ``vtype`` are not checked.
    """
    vtype = options.get("vtype")
    if measure != "SMD" or profile.name == "metafor" or vtype is None or vtype == profile.smd_vtype:
        return None
    return (
        f"profile {profile.name!r} uses {_VTYPES.get(profile.smd_vtype, profile.smd_vtype)} (vtype="
        f"{profile.smd_vtype!r}), but these SMD effect sizes were computed under another convention, vtype={vtype!r} "
        f"({_VTYPES.get(vtype, vtype)}): the model follows the profile, the effect sizes do not; to reproduce "
        f"the profile, recompute them with effect_sizes('SMD', ..., profile={profile.name!r})"
    )
