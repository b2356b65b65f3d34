"""The forest plot's sentences and headers, from a result's summary row: the model's name, the CI
column's header (RevMan's "IV, Random, 95% CI"), the heterogeneity line, the test for the overall
effect and the test for subgroup differences (no drawing, no layout)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .style import fmt_num, fmt_p

__all__ = ["COMMON_METHODS", "REVMAN_METHOD", "ci_header", "het_text", "model_name", "subgroup_test_text", "test_text"]

#: Methods pooled as a common effect (the rest are random-effects models).
COMMON_METHODS = frozenset({"EE", "MH", "Peto"})
#: RevMan's name of each method in the column header ("M-H, Fixed, 95% CI").
REVMAN_METHOD = {"MH": ("M-H", "Fixed"), "Peto": ("Peto", "Fixed")}


def model_name(summary: pd.Series) -> str:
    """``"common effect"`` or ``"random effects"``, from the summary's method."""
    return "common effect" if summary["method"] in COMMON_METHODS else "random effects"


def ci_header(summary: pd.Series, two: bool) -> str:
    """The CI column's header: RevMan's ``IV, Random, 95% CI`` (only the level when two models are shown)."""
    lv = f"{100 * float(summary['level']):g}% CI"
    if two:
        return lv
    method, model = REVMAN_METHOD.get(summary["method"], ("IV", "Common" if summary["method"] == "EE" else "Random"))
    return f"{method}, {model}, {lv}"


def het_text(s: pd.Series, digits: int) -> str:
    """``Heterogeneity: τ² = 0.04; Q = 12.30, df = 6 (P = 0.06); I² = 51%``."""
    if int(s["k"]) < 2:
        return "Heterogeneity: not applicable (one study)"
    parts = []
    if s["method"] not in COMMON_METHODS:
        t2 = float(s["tau2"])
        d = digits if (t2 == 0 or t2 >= 10.0**-digits) else digits + 2
        parts.append(f"τ² = {fmt_num(t2, d)}; ")
    return (
        f"Heterogeneity: {''.join(parts)}Q = {fmt_num(float(s['q']), 2)}, df = {int(s['q_df'])} "
        f"({fmt_p(float(s['q_pvalue']))}); I² = {float(s['i2']):.0f}%"
    )


def test_text(s: pd.Series, which: str = "") -> str:
    """``Test for overall effect: Z = 2.10 (P = 0.04)`` (t with its df for t-based tests)."""
    stat = "Z" if s["test"] == "z" else f"t({float(s['df']):g})"
    tag = f" ({which})" if which else ""
    return (
        f"Test for overall effect{tag}: {stat} = {fmt_num(abs(float(s['statistic'])), 2)} ({fmt_p(float(s['pvalue']))})"
    )


def subgroup_test_text(sub: Any) -> str:
    """``Test for subgroup differences: Q = 1.84, df = 1 (P = 0.17); I² = 46%`` (or an F test)."""
    q, df, p = float(sub.q_between), int(sub.q_between_df), float(sub.q_between_pvalue)
    if getattr(sub, "q_between_test", "chi2") == "F":
        df2 = float(sub.q_between_df2)
        return f"Test for subgroup differences: F({df}, {df2:g}) = {fmt_num(q, 2)} ({fmt_p(p)})"
    i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
    return f"Test for subgroup differences: Q = {fmt_num(q, 2)}, df = {df} ({fmt_p(p)}); I² = {i2:.0f}%"
