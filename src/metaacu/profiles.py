"""Named convention profiles, so that a user can reproduce an analysis made with another tool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ._validation import check_choice

__all__ = ["PROFILES", "Profile", "get_profile"]


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
        Prediction-interval distribution: ``"test"`` (the test's: z, or t with k − 1 df) or
        ``"higgins"`` (t with k − 2 df).
    smd_vtype : str
        SMD variance formula for :func:`metaacu.effect_sizes`.
    description : str
    """

    name: str
    method: str
    test: str
    pi_method: str
    smd_vtype: str
    description: str


PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        Profile(
            "metafor", "REML", "z", "test", "LS",
            "R metafor 3.x defaults: REML, Wald z test, tau2-based I2, prediction interval with z.",
        ),
        Profile(
            "revman5", "DL", "z", "test", "RevMan5",
            "RevMan 5: DerSimonian-Laird, Wald z test, Q-based I2 (equal to tau2-based under DL), "
            "RevMan's approximate Hedges' g.",
        ),
        Profile(
            "cochrane", "REML", "knha", "test", "LS",
            "Cochrane Handbook 2024 / RevMan 2025: REML, Hartung-Knapp-Sidik-Jonkman t test with k-1 df, "
            "Q-profile CI for tau2, prediction interval with t(k-1).",
        ),
    )
}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` (``"metafor"``, ``"revman5"`` or ``"cochrane"``)."""
    return PROFILES[check_choice(name, "profile", PROFILES)]
