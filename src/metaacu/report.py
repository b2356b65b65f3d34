"""Presentation of results: tidy frames, text and HTML summaries.  Rounding happens only here."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, check_choice, check_digits
from .inference import critical_value
from .measures import MeasureInfo, measure_info

if TYPE_CHECKING:
    import pandas as pd

    from .interval import Interval
    from .results import MetaAnalysis

__all__ = [
    "SCALES",
    "Printable",
    "format_ci",
    "format_p",
    "on_scale",
    "pooled_size",
    "pooling_name",
    "row_sizes",
    "scale_label",
    "summary_frame",
    "text_summary",
    "tidy_frame",
]

#: ``scale=`` of the tidy frames: the pooling scale (log RR ...) or the back-transformed response scale.
SCALES: Final = ("pooling", "response")
#: Columns that hold a location (estimate or interval bound) and are back-transformed.
LOCATIONS: Final = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")

_TESTS = {"z": "Wald z", "t": "t", "knha": "Hartung-Knapp-Sidik-Jonkman t", "adhoc": "HKSJ (ad hoc, >= z)"}
_METHODS = {
    "EE": "common (equal) effect",
    "DL": "DerSimonian-Laird",
    "REML": "restricted maximum likelihood",
    "ML": "maximum likelihood",
    "PM": "Paule-Mandel",
    "EB": "empirical Bayes",
    "HE": "Hedges",
    "SJ": "Sidik-Jonkman",
    "HS": "Hunter-Schmidt",
    "PMM": "median-unbiased Paule-Mandel",
    "DLIT": "iterated DerSimonian-Laird",
    "SJIT": "iterated Sidik-Jonkman",
    "HSk": "Hunter-Schmidt (k-corrected)",
    "GENQ": "generalised Q (user weights)",
    "GENQM": "median-unbiased generalised Q (user weights)",
}


class Printable:
    """Mixin for result classes with ``summary()`` and ``to_frame()``: ``str()`` is the summary and
    Jupyter shows the summary above the tidy table."""

    def summary(self) -> str:  # pragma: no cover - provided by the result class
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - provided by the result class
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def _table_caption(self) -> str:
        """Which scale the table's numbers are on ("" when the result has no measure)."""
        return ""

    def _html_frame(self) -> pd.DataFrame:
        """The table shown under the summary in Jupyter (default: the whole tidy frame)."""
        return self.to_frame()

    def _html_text(self) -> str:
        """The text shown above the table in Jupyter (default: the whole summary)."""
        return self.summary()

    def _repr_html_(self) -> str:
        """The one HTML display of every result: the text summary, the scale, the tidy table."""
        table = self._html_frame().to_html(index=False, float_format=lambda x: f"{x:.4f}", border=0)
        caption = self._table_caption()
        caption = f"<p>{html.escape(caption)}</p>" if caption else ""
        return f"<pre>{html.escape(self._html_text())}</pre>{caption}{table}"


def pooling_name(info: MeasureInfo) -> str:
    """The measure's name in running text: ``"log risk ratio"``, ``"log odds ratio (Peto)"`` (a name that
    starts with a person's, ``"Fisher's z-transformed correlation"``, keeps its capital)."""
    if info.name.startswith(("Fisher", "Freeman")):
        return info.name
    return info.name[0].lower() + info.name[1:]


def scale_label(info: MeasureInfo) -> str:
    """Caption of a table on the pooling scale: which scale, and how to get the other one."""
    if info.scale == "identity":
        return f"Estimates and intervals: {pooling_name(info)} (pooling scale = response scale)."
    return (
        f"Estimates and intervals on the pooling scale: {pooling_name(info)}; "
        f"to_frame(scale='response') gives the {info.display_name.lower()}."
    )


def on_scale(
    frame: pd.DataFrame,
    measure: str | None,
    scale: str,
    columns: Sequence[str] = LOCATIONS,
    size: ArrayLike | None = None,
) -> pd.DataFrame:
    """``frame`` (on the pooling scale) on ``scale``, which is recorded in ``frame.attrs``.

    ``"response"``: the location ``columns`` back-transformed with the measure's
    :meth:`~metaacu.measures.MeasureInfo.to_display` (``exp`` for ratios, inverse logit for
    ``"PLO"``, ``tanh`` for ``"ZCOR"``, the identity for MD, SMD, RD ...) and ``se`` dropped (a standard
    error is not back-transformed).  Refused when the measure is unknown (generic effects): then no
    back-transform exists.

    The Freeman-Tukey measures (``"PFT"``, ``"IRFT"``) are inverted at a sample size: ``size`` (one, or
    one per row) when given; else each study row at its own (the frame's ``n`` or ``time`` column) and
    every other row (pooled estimate, prediction interval) at the harmonic mean of the studies' (metafor's
    ``transf.ipft.hm``).
    """
    check_choice(scale, "scale", SCALES)
    info = measure_info(measure)
    if scale == "pooling":
        frame.attrs.update({"scale": "pooling", "scale_name": info.name})
        return frame
    if measure is None:
        raise MetaacuInputError(
            "argument 'scale'='response' needs the effect measure, to back-transform; these "
            "effects are generic (give measure=..., e.g. measure='OR', when fitting)"
        )
    sizes = row_sizes(frame, info, size)
    out = frame.drop(columns=[c for c in ("se",) if c in frame.columns])
    for col in columns:
        if col in out.columns:
            out[col] = info.to_display(out[col].to_numpy(dtype=np.float64), sizes)
    out.attrs.update({"scale": "response", "scale_name": info.display_name, "transform": info.transform_name})
    return out


def row_sizes(frame: pd.DataFrame, info: MeasureInfo, size: ArrayLike | None = None) -> NDArray[np.float64] | None:
    """The sample size (or person-time) at which each row of ``frame`` is back-transformed, for the
    Freeman-Tukey measures (``None`` for the others): ``size`` when given, else a study row's own and the
    studies' harmonic mean for every other row; ``None`` when the frame does not hold them either."""
    import pandas as pd  # not at import: one fit needs no pandas

    col = info.size_column
    if col is None:
        return None
    if size is not None:
        return np.broadcast_to(np.asarray(size, dtype=np.float64), (len(frame),)).copy()
    if col not in frame.columns:
        return None
    own = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    study = frame["row_type"].to_numpy() == "study" if "row_type" in frame.columns else np.isfinite(own)
    return np.where(study & np.isfinite(own), own, info.pooled_size(own[study]))


def pooled_size(res: MetaAnalysis) -> float | None:
    """The harmonic mean of the studies' sample sizes (or person-times) of a Freeman-Tukey model, at which
    its pooled values are back-transformed; ``None`` for other measures or without the effect sizes."""
    col = res.info.size_column
    if col is None or res.effects is None or col not in res.effects.data.columns:
        return None
    return res.info.pooled_size(res.effects.data[col].to_numpy(dtype=np.float64))


def format_ci(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """``"0.53 [0.21, 0.85]"`` with a fixed number of decimals (true minus sign)."""

    def f(x: float) -> str:
        x = round(x, digits) + 0.0  # + 0.0 turns a rounded -0.0 into 0.0: no "−0.00"
        return f"{x:.{digits}f}".replace("-", "\u2212")

    return f"{f(estimate)} [{f(low)}, {f(high)}]"


def tidy_frame(res: MetaAnalysis, level: float | None = None, scale: str = "pooling") -> pd.DataFrame:
    """Per-study rows plus one pooled row; see :meth:`MetaAnalysis.to_frame`."""
    import pandas as pd  # not at import: one fit needs no pandas

    check_choice(scale, "scale", SCALES)
    lv = res.level if level is None else level
    z = critical_value(lv)
    se = np.sqrt(res.vi)
    studies = pd.DataFrame(
        {
            "row_type": "study",
            "label": list(res.labels),
            "estimate": res.yi,
            "se": se,
            "ci_low": res.yi - z * se,
            "ci_high": res.yi + z * se,
            "weight": res.weights,
            "pi_low": np.nan,
            "pi_high": np.nan,
        }
    )
    if res.effects is not None:
        for col in res.effects.data.columns:
            studies[col] = res.effects.data[col].to_numpy()
    ci = res.confidence_interval(lv)
    pi = res.prediction_interval(lv) if res.is_random else None
    pooled = pd.DataFrame(
        {
            "row_type": ["pooled"],
            "label": [f"{'Random' if res.is_random else 'Common'} effect ({res.method})"],
            "estimate": [res.estimate],
            "se": [res.se],
            "ci_low": [ci.low],
            "ci_high": [ci.high],
            "weight": [100.0],
            "pi_low": [pi.low if pi else np.nan],
            "pi_high": [pi.high if pi else np.nan],
        }
    )
    out = pd.concat([studies, pooled], ignore_index=True)
    out.attrs.update({"measure": res.measure, "level": lv, "method": res.method, "test": res.test})
    return on_scale(out, res.measure, scale)


def summary_frame(res: MetaAnalysis, level: float | None = None, scale: str = "pooling") -> pd.DataFrame:
    """One row of pooled statistics; see :meth:`MetaAnalysis.summary_frame`."""
    import pandas as pd  # not at import: one fit needs no pandas

    check_choice(scale, "scale", SCALES)
    lv = res.level if level is None else level
    ci = res.confidence_interval(lv)
    pi = res.prediction_interval(lv)
    row = {
        "measure": res.measure,
        "method": res.method,
        "test": res.test,
        "level": lv,
        "k": res.k,
        "estimate": res.estimate,
        "se": res.se,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "statistic": res.statistic,
        "df": res.df,
        "pvalue": res.pvalue,
        "pi_low": pi.low,
        "pi_high": pi.high,
        "tau2": res.tau2,
        "tau": res.tau,
        "q": res.q,
        "q_df": res.q_df,
        "q_pvalue": res.q_pvalue,
        "i2": res.i2,
        "i2_q": res.i2_q,
        "h2": res.h2,
        "converged": res.converged,
    }
    return on_scale(pd.DataFrame([row]), res.measure, scale, size=pooled_size(res))


def format_p(p: float, *, prefix: bool = True) -> str:
    """``"p < 0.0001"`` or ``"p = 0.0123"`` (without ``prefix``: ``"< 0.0001"`` or ``"0.0123"``)."""
    if p < 1e-4:
        return "p < 0.0001" if prefix else "< 0.0001"
    return f"p = {p:.4f}" if prefix else f"{p:.4f}"


def text_summary(res: MetaAnalysis, digits: int = 4) -> str:
    """A metafor-like printout."""
    d = check_digits(digits)
    kind = "Random-effects" if res.is_random else "Common-effect"
    lines = [f"{kind} model (k = {res.k}; tau^2 estimator: {_METHODS[res.method]}; test: {_TESTS[res.test]})"]
    if res.measure:
        lines.append(f"Measure: {res.info.name}")
    lines.append("")
    if res.is_random:
        tau_line = f"tau^2 = {res.tau2:.{d}f}, tau = {res.tau:.{d}f}"
        if res.k > 1:
            tci = res.tau2_confint()
            tau_line += f" (Q-profile {100 * res.level:g}% CI {tci.low:.{d}f} to {tci.high:.{d}f})"
        lines.append(tau_line)
    lines.append(f"I^2 = {res.i2:.2f}%   H^2 = {res.h2:.2f}   (Q-based I^2 = {res.i2_q:.2f}%)")
    lines.append(f"Q({res.q_df}) = {res.q:.{d}f}, {format_p(res.q_pvalue)}")
    lines.append("")
    stat = "z" if res.test == "z" else f"t({res.df:g})"
    ci_lab = f"{100 * res.level:g}% CI"
    back = res.info.scale != "identity"  # ratios and logits: numbers on two scales, each labelled
    if back:
        lines.append(f"Pooling scale ({pooling_name(res.info)}):")
    lines.append(
        f"estimate = {res.estimate:.{d}f}  se = {res.se:.{d}f}  {stat} = {res.statistic:.{d}f}  {format_p(res.pvalue)}"
    )
    lines.append(f"{ci_lab}: {res.ci_low:.{d}f} to {res.ci_high:.{d}f}")
    pi = res.prediction_interval() if res.is_random else None
    if pi is not None:
        lines.append(f"prediction interval: {pi.low:.{d}f} to {pi.high:.{d}f} ({pi.method})")
    if back:
        lines.extend(_back_transformed(res, pi, ci_lab, d))
    if not res.converged:
        lines.append(f"WARNING: tau^2 solver did not converge after {res.iterations} iterations")
    lines.extend(f"Note: {n}" for n in res.notes)
    return "\n".join(lines)


def _back_transformed(res: MetaAnalysis, pi: Interval | None, ci_lab: str, d: int) -> list[str]:
    """The pooled estimate, CI and prediction interval of ``text_summary`` on the natural scale."""
    info = res.info
    size = pooled_size(res)
    if info.size_column is not None and size is None:
        return [
            f"Back-transformed ({info.transform_name}): not available, it needs the studies' {info.size_column!r} "
            f"(fit effect sizes from effect_sizes({res.measure!r}, ...))"
        ]
    at = f"; pooled values at the studies' harmonic mean {info.size_column} = {size:.{d}f}" if size is not None else ""
    name = info.display_name

    def t(x: float) -> float:
        return float(info.to_display(x, size))

    lines = [
        f"Back-transformed ({info.transform_name}{at}):",
        f"{name}: {t(res.estimate):.{d}f} ({ci_lab} {t(res.ci_low):.{d}f} to {t(res.ci_high):.{d}f})",
    ]
    if pi is not None:
        lines.append(f"{name} prediction interval: {t(pi.low):.{d}f} to {t(pi.high):.{d}f} ({pi.method})")
    return lines
