"""Text, Markdown and HTML reports of the claims audit (rounding for display happens here).

Effects are always on the display scale: ratios back-transformed (never a log value without saying
so), proportions in percent.  The Summary of findings (:func:`sof_frame`) follows the layout Cochrane
readers know: claim, comparison, outcome and time, trials and participants, relative effect, absolute
effect, certainty, plain-language statement and verdict.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .bayes_view import BAYES_PREFIX
from .rules import CATEGORIES, DEFINITIONS
from .shared_control import csv_columns, section_html, section_markdown

if TYPE_CHECKING:
    from .claims import ClaimResult

__all__ = [
    "certainty_frame",
    "claim_html",
    "claim_row",
    "claim_text",
    "html_report",
    "sof_frame",
    "sof_markdown",
    "verdict_table_markdown",
]

_DOMAIN_COLUMNS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")


def _disp(r: ClaimResult, x: float) -> float:
    """A benefit-scale value on the display scale as a number (ratios exp, logits as a proportion)."""
    if math.isnan(x):
        return math.nan
    if r.is_ratio:
        return math.exp(x)
    if r.measure == "PLO":
        return 1 / (1 + math.exp(-x))
    return x


def _effect_text(r: ClaimResult) -> str:
    if math.isnan(r.estimate) or math.isnan(r.ci_low):
        return ""
    if r.claim["rule"] == "no_serious_harm":
        return f"{100 * r.estimate:.0f}% ({100 * r.ci_low:.0f}% to {100 * r.ci_high:.1f}%)"
    name = {"PLO": "share", "SMD_difference": "SMD difference"}.get(r.measure, r.measure)
    if r.claim["rule"] == "persistence":
        name = "retained SMD"
    return f"{name} {r.show(r.estimate)} ({r.show(r.ci_low)} to {r.show(r.ci_high)})"


def _fidelity_text(r: ClaimResult) -> str:
    if r.fidelity.empty:
        return ""
    return "; ".join(
        f"{v} ({s})" for v, s in zip(r.fidelity["verdict"], r.fidelity["study_id"].fillna("named source"), strict=True)
    )


def claim_row(r: ClaimResult) -> dict[str, Any]:
    """One flat row for ``claims.csv`` (see data/README.md, "claims.csv")."""
    c = r.claim
    cert = r.certainty
    domains = {d.domain: d.judgement for d in cert.domains} if cert else {}
    published = (
        ""
        if cert is None or cert.published.empty
        else "; ".join(f"{row.certainty} ({row.review_id}, {row.outcome})" for row in cert.published.itertuples())
    )
    row = {
        "id": r.id,
        "origin": r.origin,
        "derived_from": c.get("derived_from", ""),
        "group": c.get("group", ""),
        "section": c.get("section", ""),
        "paragraph": c.get("paragraph", ""),
        "article_words": c.get("article_words", ""),
        "statement": c.get("statement", ""),
        "claim_kind": c.get("claim_kind", ""),
        "rule": c.get("rule", ""),
        "comparison": c.get("comparison", ""),
        "outcome": c.get("outcome", ""),
        "timepoint": c.get("timepoint", ""),
        "measure": "proportion" if r.measure == "PLO" else r.measure,
        "effect_scale": "ratio (back-transformed)"
        if r.is_ratio
        else "proportion"
        if r.measure == "PLO"
        else "as measured",
        "threshold": c.get("threshold", ""),
        "threshold_value": r.threshold_info.get("value", ""),
        "category": r.category,
        "verdict": r.verdict,
        "alt_threshold": c.get("alt_threshold", ""),
        "alt_threshold_value": r.alt_threshold_info.get("value", ""),
        "alt_threshold_scale": r.alt_threshold_info.get("scale", ""),
        "alt_category": r.alternative.category if r.alternative else "",
        "alt_verdict": r.alternative.verdict if r.alternative else "",
        "verdict_changes_under_alt_threshold": r.alt_changes if r.alternative else "",
        "k_trials": r.k,
        "k_pooled": r.k_pooled,
        "participants": r.participants,
        "estimate": _disp(r, r.estimate),
        "ci_low": _disp(r, r.ci_low),
        "ci_high": _disp(r, r.ci_high),
        "pi_low": _disp(r, r.pi_low),
        "pi_high": _disp(r, r.pi_high),
        "i2": r.i2,
        "absolute_effect": r.absolute.text if r.absolute else "",
        "absolute_basis": r.absolute.basis if r.absolute else "",
        "certainty": cert.level if cert else "",
        **{f"certainty_{k}": domains.get(k, "") for k in _DOMAIN_COLUMNS},
        "certainty_downgrades": cert.downgrades if cert else "",
        "published_certainty": published,
        "plain_language": cert.statement if cert else "",
        "fidelity": _fidelity_text(r),
        "fidelity_source_words": " | ".join(r.fidelity["source_words"]) if not r.fidelity.empty else "",
        "fidelity_source": " | ".join(r.fidelity["source"]) if not r.fidelity.empty else "",
        "verdict_changes_in_sensitivity": r.verdict_changes if len(r.sensitivity) else "",
        **csv_columns(r),
        "flags": "; ".join(r.flags),
        "reason": r.reason,
    }
    return row


def claim_text(r: ClaimResult) -> str:
    """Text report of one audited claim."""
    c = r.claim
    where = f"{c.get('section', '-')}, paragraph {c.get('paragraph', '-')}"
    lines = [
        f"Claim {r.id} ({'derived test of ' + c['derived_from'] if r.origin == 'derived' else 'article'}; {where})",
        f"  article: \u201c{c.get('article_words', '')}\u201d",
        f"  paraphrase: {c['statement']}",
        f"Verdict: {r.verdict} [{r.category}] - {r.reason}",
    ]
    if r.alternative is not None:
        lines.append(
            f"Under the alternative threshold ({c.get('alt_threshold')}): {r.alternative.verdict} "
            f"[{r.alternative.category}]{' (changes the verdict)' if r.alt_changes else ''}"
        )
    if r.certainty is not None:
        cert = r.certainty
        lines += [f"Certainty: {cert.level} {cert.symbol}; rated down for {cert.downgrades}", f"  {cert.statement}"]
        lines += [f"  - {d.domain}: {d.judgement} - {d.reason}" for d in cert.domains]
        for p in cert.published.itertuples():
            lines.append(f"  published rating: {p.certainty} ({p.review_id}, {p.outcome}; {p.locator})")
    if r.absolute is not None:
        lines.append(f"Absolute effect: {r.absolute.text}" + (f" [{r.absolute.basis}]" if r.absolute.basis else ""))
    for f in r.fidelity.itertuples():
        lines.append(
            f"Fidelity: {f.verdict} - the source says \u201c{f.source_words}\u201d ({f.locator}; {f.source}). "
            f"{f.reason}"
        )
    lines.append(f"Leans on: {'; '.join(r.flags) or 'nothing flagged'}")
    lines += list(r.notes)
    ev = r.evidence
    if not ev.empty:
        cols = [k for k in ("label", "measure", "estimate", "ci_low", "ci_high", "use", "status", "locator") if k in ev]
        if "estimate" not in ev:
            cols = [k for k in ev.columns if k not in ("source",)]
        lines += [
            "",
            "Evidence (benefit scale: positive favours acupuncture; log scale for ratios, logit for shares):",
            ev[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"),
        ]
    if r.model is not None:
        lines += ["", r.model.summary()]
    if len(r.sensitivity):
        lines += [
            "",
            f"Sensitivity (does the verdict change? {'yes' if r.verdict_changes else 'no'}):",
            _sens_display(r).to_string(index=False, float_format=lambda x: f"{x:.3f}"),
        ]
    return "\n".join(lines)


def _sens_display(r: ClaimResult) -> pd.DataFrame:
    s = r.sensitivity.copy()
    for col in ("estimate", "ci_low", "ci_high"):
        s[col] = [_disp(r, x) for x in s[col]]
    return s


def claim_html(r: ClaimResult) -> str:
    """HTML for Jupyter: the text report."""
    return f"<pre>{html.escape(claim_text(r))}</pre>"


def sof_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """The Summary of findings: one row per claim with an effect estimate."""
    rows = []
    for r in results:
        if r.certainty is None:
            continue
        c = r.claim
        relative = f"RR {r.show(r.estimate)} ({r.show(r.ci_low)} to {r.show(r.ci_high)})" if r.is_ratio else ""
        rows.append(
            {
                "claim": f"\u201c{c['article_words']}\u201d" + (" (derived test)" if r.origin == "derived" else ""),
                "claim_id": r.id,
                "comparison": c.get("comparison", ""),
                "outcome": f"{c.get('outcome', '')}; {c.get('timepoint', '')}",
                "trials (participants)": f"{r.k or 'not reported'} "
                f"({'not reported' if math.isnan(r.participants) else f'{r.participants:.0f}'})",
                "relative effect": relative,
                "effect": "" if r.is_ratio else _effect_text(r),
                "absolute effect": r.absolute.text if r.absolute else "",
                "certainty": f"{r.certainty.symbol} {r.certainty.level}",
                "rated down for": r.certainty.downgrades,
                "published rating": "; ".join(
                    f"{p.certainty} ({p.review_id}, {p.outcome})"
                    + (f": {p.difference_note}" if isinstance(p.difference_note, str) else "")  # str or NA
                    for p in r.certainty.published.itertuples()
                ),
                "what it means": r.certainty.statement,
                "category": r.category.replace("_", " "),
                "verdict": r.verdict,
                "at the alternative threshold": r.alternative.verdict if r.alternative else "",
                "fidelity": _fidelity_text(r),
            }
        )
    return pd.DataFrame(rows)


def certainty_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """Every GRADE domain of every rated claim: judgement, levels down, reason, source, rule-made."""
    frames = [
        r.certainty.to_frame().assign(claim_id=r.id, certainty=r.certainty.level)
        for r in results
        if r.certainty is not None
    ]
    cols = ["claim_id", "certainty", "domain", "judgement", "levels_down", "reason", "source", "locator", "by_rule"]
    return pd.concat(frames, ignore_index=True)[cols]


def _md_cell(x: Any) -> str:
    return str(x).replace("|", "/").replace("\n", " ")


def sof_markdown(results: list[ClaimResult]) -> str:
    """The Summary of findings as a Markdown table."""
    f = sof_frame(results).drop(columns=["claim_id"])
    lines = ["| " + " | ".join(f.columns) + " |", "|" + "---|" * len(f.columns)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def bayes_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """The Bayesian view of every claim pooled from few studies: one row per prior, next to the
    frequentist interval and verdict, on the display scale (ratios as ratios, shares as shares)."""
    rows = []
    for r in results:
        s = r.sensitivity
        if not len(s):
            continue
        for _, b in s[s["scenario"].str.startswith(BAYES_PREFIX)].iterrows():
            rows.append(
                {
                    "claim": r.id,
                    "studies": r.k_pooled,
                    "confidence interval": f"{_disp(r, r.estimate):.2f} ({_disp(r, r.ci_low):.2f} to "
                    f"{_disp(r, r.ci_high):.2f})",
                    "verdict": r.verdict,
                    "prior": str(b["scenario"]).split(": ", 1)[1].split(";")[0],
                    "credible interval": f"{_disp(r, b['estimate']):.2f} ({_disp(r, b['ci_low']):.2f} to "
                    f"{_disp(r, b['ci_high']):.2f})",
                    "P(benefit; shares: P > 50%)": f"{b['p_benefit']:.3f}",
                    "P(exceeds threshold)": "" if math.isnan(b["p_important"]) else f"{b['p_important']:.3f}",
                    "Bayesian verdict": b["verdict"],
                    "changes the picture": "yes" if b["verdict"] != r.verdict else "no",
                }
            )
    return pd.DataFrame(rows)


def _bayes_markdown(results: list[ClaimResult]) -> list[str]:
    frame = bayes_frame(results)
    if frame.empty:
        return []
    head = "| " + " | ".join(frame.columns) + " |"
    lines = [
        "## Few pooled studies: the Bayesian view",
        "",
        "Claims decided by a random-effects model of few studies (see `[bayes]` in data/claims.toml), "
        "refitted with the pre-specified priors on the heterogeneity tau and a flat prior on the effect. The "
        "credible interval is placed by the same rule as the confidence interval; the verdict stays the "
        "frequentist one.",
        "",
        head,
        "|" + "---|" * len(frame.columns),
    ]
    lines += ["| " + " | ".join(_md_cell(str(v)) for v in row) + " |" for row in frame.itertuples(index=False)]
    return [*lines, ""]


def verdict_table_markdown(results: list[ClaimResult]) -> str:
    """``claims.md``: the Summary of findings, then every claim's verdict."""
    out = [
        "# Claims audit",
        "",
        "## Summary of findings (claims with an effect estimate)",
        "",
        sof_markdown(results),
        *_bayes_markdown(results),
        *section_markdown(results),
        "## Every claim",
        "",
        "| claim | article (section, paragraph) | origin | verdict | category | alternative threshold | certainty "
        "| fidelity | why |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r.claim
        out.append(
            "| "
            + " | ".join(
                _md_cell(x)
                for x in (
                    r.id,
                    f"{c['section']}, {c['paragraph']}: \u201c{c['article_words']}\u201d",
                    "derived from " + c["derived_from"] if r.origin == "derived" else "article",
                    f"**{r.verdict}**",
                    r.category.replace("_", " "),
                    r.alternative.verdict if r.alternative else "",
                    r.certainty.level if r.certainty else "",
                    _fidelity_text(r),
                    r.reason,
                )
            )
            + " |"
        )
    out += ["", "## What the verdicts mean", ""] + [f"- **{k}**: {v}" for k, v in DEFINITIONS.items()]
    out += ["", "## Where a confidence interval lies (threshold T > 0, benefit scale)", ""]
    out += [f"- **{k.replace('_', ' ')}**: {v[1]}" for k, v in CATEGORIES.items()]
    return "\n".join(out) + "\n"


_CSS = (
    "body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:90%}.v{font-weight:bold}"
    ".supported{color:#1a7f37}.not_supported{color:#9a3412}.weakly_supported{color:#52606d}.weakly_contradicted{color:#9a3412}"
    ".contradicted{color:#b42318}.inconclusive{color:#9a6700}.consistent{color:#1a7f37}.partly_consistent{color:#9a6700}"
    ".inconsistent{color:#b42318}.not_testable{color:#52606d}img{max-width:100%}.scroll{overflow-x:auto}"
    ".skipped{background:#fff4ce;padding:6px 10px;border-left:4px solid #9a6700}"
    "figcaption{font-size:90%;color:#333;margin-bottom:1.5em}.repro table{table-layout:fixed;width:1600px}"
    ".repro td{word-break:break-word}"
)


def _table_html(frame: pd.DataFrame, digits: int = 3) -> str:
    return (
        "<div class='scroll'>"
        + frame.to_html(index=False, float_format=lambda x: f"{x:.{digits}f}", border=0)
        + "</div>"
    )


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def html_report(
    results: list[ClaimResult], figures: dict[str, Path], repro: pd.DataFrame, notebooks_run: bool = True
) -> str:
    """A self-contained HTML report: Summary of findings, risk of bias, every claim, reproduction.

    ``notebooks_run=False`` (``reproduce --no-notebooks``) puts a notice at the top that this run
    skipped the notebooks; ``MANIFEST.json`` beside the report records every step either way."""
    e = html.escape
    sof = sof_frame(results)
    sof_rows = "".join(
        "<tr>" + "".join(f"<td>{e(str(v))}</td>" if k != "claim_id" else "" for k, v in row.items()) + "</tr>"
        for row in sof.to_dict("records")
    )
    head = "".join(f"<th>{e(k)}</th>" for k in sof.columns if k != "claim_id")
    index = "".join(
        f"<tr><td><a href='#{r.id}'>{e(r.id)}</a></td><td class='v {r.verdict}'>{r.verdict}</td>"
        f"<td>{e(r.category.replace('_', ' '))}</td><td>{e(r.claim['section'])}, {r.claim['paragraph']}</td>"
        f"<td>{e(r.claim['statement'])}</td></tr>"
        for r in results
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>metaacu claims audit</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Acupuncture for back pain: the article's claims against its own evidence</h1>",
        "<p>Generated by <code>metaacu reproduce</code> from the bundled data. Rules, thresholds and models are "
        "fixed in <code>data/claims.toml</code>; judgements (risk of bias, certainty, fidelity, facts) are rows of "
        "<code>data/</code> with their sources. In every figure, right of the solid line favours acupuncture; "
        "dashed lines are the claim's clinical-relevance threshold and the alternative one.</p>",
        "<p class='manifest'>This folder's <code>MANIFEST.json</code> records every step of the run that wrote it, "
        "any step skipped, the data used and the SHA-256 of every file; "
        "<code>metaacu.audit.verify_results(folder)</code> checks the folder against it.</p>",
        *(
            []
            if notebooks_run
            else [
                "<p class='skipped'><b>Notebooks were not executed in this run</b> (<code>--no-notebooks</code>): this "
                "folder has no <code>notebooks/</code>.</p>"
            ]
        ),
        "<h2 id='sof'>Summary of findings</h2>",
        f"<div class='scroll'><table><tr>{head}</tr>{sof_rows}</table></div>",
    ]
    bayes = bayes_frame(results)
    if not bayes.empty:
        parts += [
            "<h2 id='bayes'>Few pooled studies: the Bayesian view</h2>",
            "<p>Claims decided by a random-effects model of few studies, refitted with the pre-specified priors on "
            "the heterogeneity (data/claims.toml, <code>[bayes]</code>) and a flat prior on the effect. The credible "
            "interval is placed by the same rule as the confidence interval; the verdict stays the frequentist "
            "one.</p>",
            _table_html(bayes),
        ]
    parts += section_html(results)
    if "risk_of_bias" in figures:
        parts += [
            "<h2 id='rob'>Risk of bias of the trials the audit uses</h2>",
            _img(figures["risk_of_bias"], "risk-of-bias traffic-light plot"),
            "<p>Judgements from data/risk_of_bias.csv (Cochrane RoB 1 domains; blank = not found). The summary reads "
            "the key domains for self-reported outcomes; blinding of the acupuncturist is shown but not a key "
            "domain.</p>",
        ]
    parts += [
        "<h2>Every claim</h2>",
        "<table><tr><th>claim</th><th>verdict</th><th>category</th><th>article section, "
        f"paragraph</th><th>claim (our words)</th></tr>{index}</table>",
    ]
    for r in results:
        parts += _claim_section(r, figures)
    parts.append("<h2 id='reproduction'>Reproduction of published numbers</h2>")
    cols = ["target", "published", "recomputed", "difference", "explanation", "locator", "source"]
    parts.append(
        "<div class='scroll repro'>" + repro[cols].to_html(index=False, float_format=lambda x: f"{x:.4g}") + "</div>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _claim_section(r: ClaimResult, figures: dict[str, Path]) -> list[str]:
    e = html.escape
    c = r.claim
    origin = (
        f"derived test of <a href='#{c['derived_from']}'>{e(c['derived_from'])}</a>"
        if r.origin == "derived"
        else "article claim"
    )
    out = [
        f"<h3 id='{r.id}'>{e(r.id)}: <span class='v {r.verdict}'>{r.verdict}</span></h3>",
        f"<p>{origin}; {e(c['section'])}, paragraph {c['paragraph']}: \u201c{e(c['article_words'])}\u201d<br>"
        f"<i>Our paraphrase:</i> {e(c['statement'])}</p>",
        f"<p><b>Why:</b> {e(r.reason)}</p>",
    ]
    if r.alternative is not None:
        out.append(
            f"<p><b>Alternative threshold</b> ({e(c['alt_threshold'])}): {r.alternative.verdict} "
            f"({e(r.alternative.category.replace('_', ' '))}){' — the verdict changes' if r.alt_changes else ''}</p>"
        )
    if r.certainty is not None:
        out.append(
            f"<p><b>Certainty:</b> {r.certainty.symbol} {r.certainty.level} "
            f"(rated down for {e(r.certainty.downgrades)}). "
            f"{e(r.certainty.statement)}</p>" + _table_html(r.certainty.to_frame())
        )
    for f in r.fidelity.itertuples():
        out.append(
            f"<p><b>Fidelity: {f.verdict}.</b> The source says \u201c{e(str(f.source_words))}\u201d "
            f"({e(str(f.locator))}; {e(str(f.source))}). {e(str(f.reason))}</p>"
        )
    if r.flags:
        out.append("<p><b>Leans on:</b> " + e("; ".join(r.flags)) + "</p>")
    if r.id in figures:
        cert = f"; certainty {r.certainty.level}" if r.certainty else ""
        out.append(
            f"<figure>{_img(figures[r.id], 'figure for ' + r.id)}<figcaption>{e(r.id)}: "
            f"{e(r.category.replace('_', ' '))}"
            f" → {r.verdict}{e(cert)}. {e(_effect_text(r))}</figcaption></figure>"
        )
    if len(r.sensitivity):
        out.append("<p><b>Sensitivity</b> (effects on the display scale)</p>" + _table_html(_sens_display(r)))
    if not r.evidence.empty:
        cols = [
            k
            for k in ("label", "estimate", "ci_low", "ci_high", "use", "source", "locator", "status", "assumption")
            if k in r.evidence
        ]
        if "estimate" not in r.evidence:
            cols = list(r.evidence.columns)
        out.append(
            "<details><summary>Evidence rows and sources (benefit scale; log for ratios)</summary>"
            + _table_html(r.evidence[cols])
            + "</details>"
        )
    return out
