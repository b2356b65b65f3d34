"""The claims registry (``data/claims.toml``): read it and check every key before anything is computed.

Every error names the registry file, the claim (by position and id) and the key, and says what was
expected.  The registry's ``model`` is machine-read: ``"none"`` (one deciding estimate) or a table
``{method, test}`` (optionally ``reconstructs`` and ``tolerance``) validated against the estimators and
tests :func:`metaacu.meta_analysis` offers, so changing it in the file changes the analysis.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Final

from .._validation import MetaacuInputError
from ..measures import MEASURES as MEASURE_CODES
from ..pooling import TESTS
from ..tau2 import TAU2_METHODS
from .bayes_view import PRIOR_KINDS
from .csvio import as_path, read_text
from .data import Dataset, default_data_dir, load_dataset
from .rules import CLAIM_KINDS
from .schema import GRADE_DOMAINS
from .shared_control import check_section as check_shared_control

__all__ = ["EFFECT_MEASURES", "ROW_SOURCES", "ROW_USES", "RULES", "load_registry", "rated_claims"]

RULES: Final = (
    "effect",
    "persistence",
    "majority",
    "direction_only",
    "no_serious_harm",
    "fact",
    "schedule",
    "arithmetic",
    "not_testable",
)
#: Rules whose claims carry an effect estimate and so get a GRADE certainty rating.
RATED_RULES: Final = frozenset({"effect", "persistence", "majority", "no_serious_harm"})
ROW_SOURCES: Final = ("pooled", "contrast", "continuous_arms", "change_arms", "binary_arms", "proportion_arm")
ROW_USES: Final = ("decide", "pool", "reconstruct", "support")
EFFECT_MEASURES: Final = frozenset({"MD", "SMD", "RR", "OR", "SMD_difference"})
MEASURES: Final = EFFECT_MEASURES | {"proportion", "direction only", "narrative"}
_KINDS: Final = {
    **{r: set(CLAIM_KINDS) for r in ("effect", "persistence", "direction_only")},
    "majority": {"any_effect"},
    "no_serious_harm": {"small_or_no_effect"},
    "fact": {"fact"},
    "schedule": {"fact"},
    "arithmetic": {"fact"},
    "not_testable": {"none"},
}
_BASE_KEYS: Final = (
    "id",
    "group",
    "section",
    "paragraph",
    "article_words",
    "statement",
    "origin",
    "references",
    "claim_kind",
    "rule",
    "flags",
)
_ANALYSIS_KEYS: Final = ("population", "comparison", "outcome", "timepoint", "measure")
_RULE_KEYS: Final = {
    "effect": ("threshold", "alt_threshold", "model", "rows"),
    "persistence": ("threshold", "alt_threshold", "model", "rows", "baseline", "horizon_quarters"),
    "majority": ("model", "rows"),
    "no_serious_harm": ("threshold", "alt_threshold", "harms"),
    "schedule": ("stated_range", "tolerance", "schedules"),
    "arithmetic": ("costs",),
    "not_testable": ("reason",),
    "direction_only": (),
    "fact": (),
}
_ROW_KEYS: Final = {
    "pooled": ("id",),
    "contrast": ("contrast",),
    "continuous_arms": ("exp", "ctl"),
    "change_arms": ("exp", "ctl"),
    "binary_arms": ("exp", "ctl"),
    "proportion_arm": ("arm",),
}


def _fail(where: str, message: str) -> MetaacuInputError:
    return MetaacuInputError(f"{where}: {message}")


def _check_thresholds(path: Path, reg: dict[str, Any]) -> None:
    for name, t in reg.get("thresholds", {}).items():
        where = f"{path}: [thresholds.{name}]"
        for key in ("value", "scale", "label", "source"):
            if key not in t:
                raise _fail(where, f"missing key {key!r}")
        if not isinstance(t["value"], int | float) or not t["value"] > 0:
            raise _fail(where, f"value must be a positive number, got {t['value']!r}")


def _check_bayes(path: Path, reg: dict[str, Any]) -> None:
    """The optional ``[bayes]`` section: study limit, measures and two τ priors of a known family."""
    if "bayes" not in reg:
        return
    cfg, where = reg["bayes"], f"{path}: [bayes]"
    for key in ("max_k", "max_k_reason", "measures", "measures_reason", "prior", "sensitivity_prior"):
        if key not in cfg:
            raise _fail(where, f"missing key {key!r}")
    if not isinstance(cfg["max_k"], int) or cfg["max_k"] < 2:
        raise _fail(where, f"max_k must be a whole number >= 2, got {cfg['max_k']!r}")
    bad = [m for m in cfg["measures"] if m not in MEASURE_CODES]
    if bad:
        raise _fail(where, f"measures {bad} are not measure codes")
    for role in ("prior", "sensitivity_prior"):
        spec = cfg[role]
        if not isinstance(spec, dict) or spec.get("kind") not in PRIOR_KINDS:
            raise _fail(where, f"{role}.kind must be one of {sorted(PRIOR_KINDS)}, got {spec!r}")
        if not isinstance(spec.get("scale"), int | float) or not spec["scale"] > 0:
            raise _fail(where, f"{role}.scale must be a positive number, got {spec.get('scale')!r}")
        if not spec.get("source"):
            raise _fail(where, f"{role} needs a source")


def _check_model(where: str, claim: dict[str, Any]) -> None:
    model = claim["model"]
    uses = {r.get("use") for r in claim["rows"]}
    if model == "none":
        if uses & {"pool", "reconstruct"}:
            raise _fail(where, "model is 'none' but some rows have use 'pool' or 'reconstruct'")
        if claim["rule"] in ("effect", "persistence") and sum(r.get("use") == "decide" for r in claim["rows"]) != 1:
            raise _fail(where, "with model 'none' exactly one row must have use = 'decide'")
        return
    if not isinstance(model, dict):
        raise _fail(where, f"model must be 'none' or a table {{method, test}}, got {model!r}")
    if model.get("method") not in TAU2_METHODS:
        raise _fail(where, f"model.method {model.get('method')!r} is not one of {', '.join(TAU2_METHODS)}")
    if model.get("test") not in TESTS:
        raise _fail(where, f"model.test {model.get('test')!r} is not one of {', '.join(TESTS)}")
    unknown = set(model) - {"method", "test", "reconstructs", "tolerance"}
    if unknown:
        raise _fail(where, f"model has unknown key(s) {sorted(unknown)}")
    wanted = "reconstruct" if "reconstructs" in model else "pool"
    if not any(r.get("use") == wanted for r in claim["rows"]) or "decide" in uses:
        raise _fail(
            where,
            f"a model {'that reconstructs' if wanted == 'reconstruct' else 'that pools'} needs rows with "
            f"use = {wanted!r} and no row with use = 'decide'",
        )
    if wanted == "reconstruct" and not (isinstance(model.get("tolerance"), int | float) and model["tolerance"] > 0):
        raise _fail(
            where, "a reconstruction needs a positive model.tolerance (how close it must come to the stated estimate)"
        )


def _check_rows(where: str, claim: dict[str, Any], ids: dict[str, set[str]]) -> None:
    table_of = {"id": "pooled", "contrast": "contrast", "exp": "outcome", "ctl": "outcome", "arm": "outcome"}
    for r in claim.get("rows", []):
        rid = r.get("id", "?")
        src = r.get("source")
        if src not in ROW_SOURCES:
            raise _fail(where, f"row {rid!r} has source {src!r}; expected one of {', '.join(ROW_SOURCES)}")
        if r.get("use") not in ROW_USES:
            raise _fail(where, f"row {rid!r} has use {r.get('use')!r}; expected one of {', '.join(ROW_USES)}")
        if src != "proportion_arm" and r.get("sign") not in (1, -1):
            raise _fail(where, f"row {rid!r} needs sign = 1 or -1 (does a positive value favour acupuncture?)")
        for key in _ROW_KEYS[src]:
            if key not in r:
                raise _fail(where, f"row {rid!r} (source {src}) needs key {key!r}")
            values = r[key] if isinstance(r[key], list) else [r[key]]
            if key == "exp" and not isinstance(r[key], list):
                raise _fail(where, f"row {rid!r}: exp must be a list of outcome row ids")
            for v in values:
                if v not in ids[table_of[key]]:
                    raise _fail(where, f"row {rid!r}: {key} {v!r} not found in the data")


def _check_claim(
    where: str, c: dict[str, Any], reg: dict[str, Any], ids: dict[str, set[str]], claim_ids: set[str]
) -> None:
    for key in _BASE_KEYS:
        if key not in c:
            raise _fail(where, f"missing key {key!r}")
    if c["rule"] not in RULES:
        raise _fail(where, f"rule {c['rule']!r} is not one of {', '.join(RULES)}")
    if c["claim_kind"] not in _KINDS[c["rule"]]:
        raise _fail(
            where,
            f"claim_kind {c['claim_kind']!r} does not fit rule {c['rule']!r} "
            f"(expected one of {sorted(_KINDS[c['rule']])})",
        )
    if not (isinstance(c["paragraph"], int) and c["paragraph"] >= 1):
        raise _fail(where, f"paragraph must be a whole number >= 1, got {c['paragraph']!r}")
    words = str(c["article_words"]).split()
    if not 1 <= len(words) <= 25:
        raise _fail(where, f"article_words must quote 1 to 25 words of the article, got {len(words)}")
    if c["origin"] not in ("article", "derived"):
        raise _fail(where, f"origin must be 'article' or 'derived', got {c['origin']!r}")
    if c["origin"] == "derived" and c.get("derived_from") not in claim_ids:
        raise _fail(
            where,
            f"a derived test must name the article claim it comes from in derived_from, got {c.get('derived_from')!r}",
        )
    for ref in [*c["references"], *([c["attributed_to"]] if c.get("attributed_to") else [])]:
        if ref not in ids["study"]:
            raise _fail(where, f"reference {ref!r} is not in studies.csv")
    needs = (
        *(_ANALYSIS_KEYS if c["rule"] in RATED_RULES | {"direction_only"} else ()),
        *(("plain_outcome", "plain_comparator") if c["rule"] in RATED_RULES else ()),
        *_RULE_KEYS[c["rule"]],
    )
    for key in needs:
        if key not in c:
            raise _fail(where, f"missing key {key!r} (rule {c['rule']!r} needs it)")
    if "measure" in c and c["measure"] not in MEASURES:
        raise _fail(where, f"measure {c['measure']!r} is not one of {', '.join(sorted(MEASURES))}")
    for key in ("threshold", "alt_threshold"):
        if key in c and c[key] not in reg.get("thresholds", {}):
            raise _fail(where, f"{key} {c[key]!r} is not defined in [thresholds]")
    if "model" in c:
        _check_model(where, c)
    _check_rows(where, c, ids)
    for key, table in (
        ("harms", "harm"),
        ("mechanism", "mechanism"),
        ("pvalues", "contrast"),
        ("context", "pooled"),
        ("schedules", "schedule"),
    ):
        for x in c.get(key, []):
            if x not in ids[table]:
                raise _fail(where, f"{key} entry {x!r} not found in the data")
    for role, base_id in c.get("baseline", {}).items():
        if base_id not in ids["pooled"]:
            raise _fail(where, f"baseline {role!r} = {base_id!r} not found in pooled_results.csv")
    if c.get("natural_units") and c["natural_units"] not in ids["outcome"]:
        raise _fail(where, f"natural_units {c['natural_units']!r} not found in outcomes.csv")


def _check_judgement_tables(path: Path, reg: dict[str, Any], ds: Dataset) -> None:
    """Every rated claim has exactly one certainty row per GRADE domain; judgement rows name real claims."""
    claims = {c["id"]: c for c in reg["claim"]}
    for table in ("certainty", "fidelity", "facts", "published_certainty"):
        frame = getattr(ds, table)
        for cid in frame["claim_id"]:
            if cid not in claims:
                raise MetaacuInputError(f"{table}.csv: claim_id {cid!r} is not a claim of {path.name}")
    cert = ds.certainty
    for cid in rated_claims(reg):
        got = sorted(cert.loc[cert["claim_id"] == cid, "domain"])
        if got != sorted(GRADE_DOMAINS):
            raise MetaacuInputError(
                f"certainty.csv: claim {cid!r} needs exactly one row for each of {sorted(GRADE_DOMAINS)}, has {got}"
            )
    for cid, c in claims.items():
        if c["rule"] == "fact" and not (ds.facts["claim_id"] == cid).any():
            raise MetaacuInputError(f"facts.csv: fact claim {cid!r} has no row")


def rated_claims(reg: dict[str, Any]) -> list[str]:
    """Ids of the claims that carry an effect estimate (and so a certainty rating)."""
    return [c["id"] for c in reg["claim"] if c["rule"] in RATED_RULES]


def load_registry(path: str | os.PathLike[str] | None = None, dataset: Dataset | None = None) -> dict[str, Any]:
    """Read and validate ``claims.toml``; every id it names must exist in ``dataset``.

    Parameters
    ----------
    path : path-like, optional
        The registry file; default ``claims.toml`` in the data folder (:func:`default_data_dir`).
    dataset : Dataset, optional
        The extraction tables the registry refers to; default: loaded from the registry's folder.

    Raises
    ------
    MetaacuInputError
        If ``path`` is not a path or ``dataset`` not a :class:`Dataset`; if the file is not UTF-8 (a
        byte-order mark is tolerated; the message gives line and byte) or not TOML; on any missing or
        invalid key (the message names the file, the claim and the key).
    """
    path = as_path(path, "path", "load_registry") if path is not None else default_data_dir() / "claims.toml"
    if dataset is not None and not isinstance(dataset, Dataset):
        raise MetaacuInputError(
            f"load_registry: argument 'dataset' must be a metaacu.audit.Dataset (from load_dataset), "
            f"got {type(dataset).__name__}"
        )
    if not path.is_file():
        raise MetaacuInputError(
            f"claims registry not found at {path} (pass path=, or set METAACU_DATA to the data folder)"
        )
    try:
        reg = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise MetaacuInputError(f"{path}: not valid TOML ({exc})") from None
    ds = dataset if dataset is not None else load_dataset(path.parent)
    ids = {
        "pooled": set(ds.pooled_results["analysis_id"]),
        "contrast": set(ds.contrasts["row_id"]),
        "outcome": set(ds.outcomes["row_id"]),
        "harm": set(ds.adverse_events["row_id"]),
        "mechanism": set(ds.mechanism["row_id"]),
        "study": set(ds.studies["study_id"]),
        "schedule": set(ds.schedules["row_id"]),
    }
    _check_thresholds(path, reg)
    _check_bayes(path, reg)
    for key in ("certainty", "assumptions"):
        if key not in reg:
            raise MetaacuInputError(f"{path}: missing section [{key}]")
    claims = reg.get("claim", [])
    claim_ids = {c.get("id") for c in claims}
    seen: set[str] = set()
    for i, c in enumerate(claims):
        where = f"{path}: claim #{i + 1} ({c.get('id', '?')})"
        if c.get("id") in seen:
            raise _fail(where, "duplicate claim id")
        seen.add(c.get("id"))
        _check_claim(where, c, reg, ids, claim_ids)
    _check_judgement_tables(path, reg, ds)
    check_shared_control(path, reg, ds)  # [shared_control]: names real claims and rows
    return reg
