"""One meaning per argument name (tracker issue 13, item 4; "API conventions" in HANDOVER.md).

* ``method`` is the τ² estimator wherever it is an argument; the other former ``method=`` arguments
  are renamed (``fail_safe_n(approach=)``, ``MetaAnalysis.prediction_interval(prediction=)``,
  ``mean_sd_from_median(sd_estimator_s3=)``) and ``subgroup_analysis(tau2=)`` (a mode, where ``tau2``
  is a number everywhere else) is ``tau2_mode=``.
* ``sort_by`` is a named order or one sort key per study, in ``cumulative`` and ``forest_plot`` alike
  (``order=`` was sort keys in one and a permutation in the other).
* ``prediction`` is the prediction-interval distribution everywhere; ``profile`` is honoured by every
  function that fits a model or computes an SMD, through one code path.
* ``log_or_to_smd`` / ``smd_to_log_or`` return one type whatever ``var`` is.

Each old name still works for one release, with a ``DeprecationWarning`` that names the new one,
and gives exactly the new name's result.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import metaacu
from metaacu import MetaacuInputError, conversions, plots
from metaacu.datasets import bcg
from metaacu.pooling import TESTS, model_options
from metaacu.profiles import PREDICTIONS, PROFILES
from metaacu.tau2 import TAU2_METHODS
from metaacu.tau2_genq import GENQ_METHODS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "metaacu"


#: (function, old argument, new argument): every rename of this pass.
RENAMES = [
    ("fail_safe_n", "method", "approach"),
    ("subgroup_analysis", "tau2", "tau2_mode"),
    ("prediction_interval", "method", "prediction"),
    ("cumulative", "order", "sort_by"),
    ("forest_plot", "order", "sort_by"),
    ("mean_sd_from_median", "sd_method_s3", "sd_estimator_s3"),
]


@pytest.fixture(scope="module")
def es() -> metaacu.EffectSizes:
    return metaacu.effect_sizes("RR", data=bcg(), labels="trial", events1="tpos", n1="n1", events2="cpos", n2="n2")


@pytest.fixture(scope="module")
def res(es: metaacu.EffectSizes) -> metaacu.MetaAnalysis:
    return metaacu.meta_analysis(es)


def same(a: Any, b: Any, where: str = "") -> None:
    """Two results are identical: every field, recursively (arrays element by element, NaN == NaN)."""
    assert type(a) is type(b), where
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def old_name(func: str, old: str, new: str, call: Callable[[], Any]) -> Any:
    """``call()`` (which uses the old name) warns once with a DeprecationWarning naming both names."""
    with pytest.warns(DeprecationWarning) as record:
        out = call()
    messages = [str(w.message) for w in record if issubclass(w.category, DeprecationWarning)]
    assert len(messages) == 1, messages
    assert f"{func}({old}=...)" in messages[0] and f"use {new}=..." in messages[0]
    assert record[0].filename == __file__  # the warning points at the caller
    return out


# --------------------------------------------------------------------------- renamed arguments
@pytest.mark.parametrize("approach", ["rosenthal", "orwin", "rosenberg"])
def test_fail_safe_n_approach(res: metaacu.MetaAnalysis, approach: str) -> None:
    new = metaacu.fail_safe_n(res, approach=approach)
    old = old_name("fail_safe_n", "method", "approach", lambda: metaacu.fail_safe_n(res, method=approach))
    same(new, old)
    assert new.method == approach


@pytest.mark.parametrize("mode", ["separate", "common"])
def test_subgroup_analysis_tau2_mode(es: metaacu.EffectSizes, mode: str) -> None:
    g = bcg()["alloc"].to_numpy()
    new = metaacu.subgroup_analysis(es, g, tau2_mode=mode)
    old = old_name("subgroup_analysis", "tau2", "tau2_mode", lambda: metaacu.subgroup_analysis(es, g, tau2=mode))
    same(new, old)
    assert new.tau2_mode == mode
    pd.testing.assert_frame_equal(new.to_frame(), old.to_frame())


@pytest.mark.parametrize("prediction", ["test", "higgins"])
def test_prediction_interval_prediction(res: metaacu.MetaAnalysis, prediction: str) -> None:
    new = res.prediction_interval(prediction=prediction)
    old = old_name("prediction_interval", "method", "prediction", lambda: res.prediction_interval(method=prediction))
    assert new == old
    assert res.prediction_interval() == res.prediction_interval(prediction=res.prediction)


def test_cumulative_sort_by(res: metaacu.MetaAnalysis) -> None:
    years = bcg()["year"].to_numpy()
    new = metaacu.cumulative(res, sort_by=years)
    old = old_name("cumulative", "order", "sort_by", lambda: metaacu.cumulative(res, order=years))
    for a, b in ((new, old), (new, metaacu.cumulative(res, years))):  # positional: sort_by
        assert a.labels == b.labels and np.array_equal(a.order, b.order)
        for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "i2"):
            assert np.array_equal(getattr(a, key), getattr(b, key))
    # the named orders of forest_plot work here too, with the same meaning
    assert np.array_equal(metaacu.cumulative(res, sort_by="year").order, new.order)
    assert np.array_equal(metaacu.cumulative(res, sort_by="effect").order, np.argsort(res.yi, kind="stable"))
    assert np.array_equal(metaacu.cumulative(res, sort_by="weight").order, np.argsort(-res.weights, kind="stable"))


def _rows(fp: Any) -> pd.DataFrame:
    rows: pd.DataFrame = fp.rows
    plt.close(fp.figure)
    return rows


@pytest.mark.parametrize("name", ["year", "effect", "weight"])
def test_forest_plot_sort_by_name(res: metaacu.MetaAnalysis, name: str) -> None:
    new = _rows(metaacu.forest_plot(res, sort_by=name))
    old = _rows(old_name("forest_plot", "order", "sort_by", lambda: metaacu.forest_plot(res, order=name)))
    pd.testing.assert_frame_equal(new, old)
    studies = new.loc[new.kind == "study", "label"].tolist()
    assert studies == [res.labels[i] for i in metaacu.cumulative(res, sort_by=name).order]


def test_forest_plot_sort_keys_replace_the_permutation(res: metaacu.MetaAnalysis) -> None:
    perm = np.random.default_rng(7).permutation(res.k)
    old = _rows(old_name("forest_plot", "order", "sort_by", lambda: metaacu.forest_plot(res, order=perm)))
    new = _rows(metaacu.forest_plot(res, sort_by=np.argsort(perm)))  # keys: the rank of each study
    pd.testing.assert_frame_equal(new, old)
    assert new.loc[new.kind == "study", "label"].tolist() == [res.labels[i] for i in perm]
    years = bcg()["year"].to_numpy()
    pd.testing.assert_frame_equal(
        _rows(metaacu.forest_plot(res, sort_by=years)), _rows(metaacu.forest_plot(res, sort_by="year"))
    )


def test_forest_plot_sort_keys_of_a_subgroup_analysis(es: metaacu.EffectSizes) -> None:
    sub = metaacu.subgroup_analysis(es, bcg()["alloc"].to_numpy())
    labels = [lab for g in sub.groups.values() for lab in g.labels]  # the table's order, as `columns`
    rows = _rows(metaacu.forest_plot(sub, sort_by=labels))  # alphabetical within each subgroup
    shown = rows.loc[rows.kind == "study", "label"].tolist()
    assert shown == [lab for g in sub.groups.values() for lab in sorted(g.labels)]
    with pytest.raises(MetaacuInputError, match="one sort key per study"):
        metaacu.forest_plot(sub, sort_by=labels[:-1])


def test_mean_sd_from_median_sd_estimator_s3() -> None:
    kw: dict[str, Any] = {"q1": [3.0, 4.0], "q3": [9.0, 10.0], "minimum": 1.0, "maximum": 14.0, "n": [30, 80]}
    new = conversions.mean_sd_from_median([5.0, 6.0], sd_estimator_s3="shi2020", **kw)
    old = old_name(
        "mean_sd_from_median",
        "sd_method_s3",
        "sd_estimator_s3",
        lambda: conversions.mean_sd_from_median([5.0, 6.0], sd_method_s3="shi2020", **kw),
    )
    assert np.array_equal(new.mean, old.mean) and np.array_equal(new.sd, old.sd) and new.method == old.method


def test_old_and_new_name_together_or_unknown_names_are_refused(res: metaacu.MetaAnalysis) -> None:
    with pytest.warns(DeprecationWarning), pytest.raises(MetaacuInputError, match="not also its deprecated"):
        metaacu.fail_safe_n(res, approach="orwin", method="orwin")
    with pytest.warns(DeprecationWarning), pytest.raises(MetaacuInputError, match="not also its deprecated"):
        metaacu.cumulative(res, sort_by="year", order="year")
    with pytest.warns(DeprecationWarning), pytest.raises(MetaacuInputError, match="not also its deprecated"):
        res.prediction_interval(prediction="test", method="higgins")
    with pytest.raises(TypeError, match="unexpected keyword argument 'metod'"):
        metaacu.fail_safe_n(res, metod="orwin")
    with pytest.raises(TypeError, match="unexpected keyword argument 'sortby'"):
        metaacu.forest_plot(res, sortby="year")


# --------------------------------------------------------------------------- one return type
@pytest.mark.parametrize("convert", [conversions.log_or_to_smd, conversions.smd_to_log_or])
def test_conversions_return_one_type_whatever_var_is(convert: Callable[..., Any]) -> None:
    without, with_var = convert([0.5, -1.2]), convert([0.5, -1.2], var=[0.04, 0.1])
    assert type(without) is type(with_var) is conversions.ConvertedEffect
    assert without.variance is None and np.array_equal(without.value, with_var.value)
    value, variance = with_var
    assert np.array_equal(value, with_var.value) and np.array_equal(variance, with_var.variance)
    assert isinstance(convert(0.5).value, float) and isinstance(convert(0.5, var=0.1).variance, float)
    assert inspect.signature(convert).return_annotation == "ConvertedEffect"


# --------------------------------------------------------------------------- profile= everywhere
@pytest.mark.parametrize("profile", list(PROFILES))
def test_profile_defaults_are_the_same_everywhere(es: metaacu.EffectSizes, profile: str) -> None:
    prof = PROFILES[profile]
    explicit = {"method": prof.method, "test": prof.test}
    ma = metaacu.meta_analysis(es, profile=profile)
    assert (ma.method, ma.test, ma.prediction, ma.profile) == (prof.method, prof.test, prof.prediction, profile)
    same(ma, metaacu.meta_analysis(es, **explicit, prediction=prof.prediction, profile=profile))

    g = bcg()["alloc"].to_numpy()
    sub = metaacu.subgroup_analysis(es, g, profile=profile)
    same(sub, metaacu.subgroup_analysis(es, g, **explicit, prediction=prof.prediction, profile=profile))
    same(sub.overall, ma)
    assert all(m.prediction == prof.prediction and m.profile == profile for m in sub.groups.values())
    common = metaacu.subgroup_analysis(es, g, tau2_mode="common", profile=profile)
    for m in common.groups.values():
        assert (m.method, m.test, m.prediction, m.profile) == (prof.method, prof.test, prof.prediction, profile)

    mods = bcg()[["ablat"]]
    reg = metaacu.meta_regression(es, mods, profile=profile)
    same(reg, metaacu.meta_regression(es, mods, **explicit))
    assert (reg.method, reg.test) == (prof.method, prof.test)

    batch = metaacu.meta_analysis_batch(es.yi[None, :], es.vi[None, :], profile=profile)
    assert (batch.method, batch.test, batch.prediction) == (prof.method, prof.test, prof.prediction)
    pi = ma.prediction_interval()
    assert batch.estimate[0] == pytest.approx(ma.estimate, rel=1e-10)
    assert (batch.pi_low[0], batch.pi_high[0]) == pytest.approx((pi.low, pi.high), rel=1e-10)


def test_the_default_profile_is_metafor_and_changes_nothing(es: metaacu.EffectSizes) -> None:
    g = bcg()["alloc"].to_numpy()
    same(metaacu.subgroup_analysis(es, g), metaacu.subgroup_analysis(es, g, method="REML", test="z"))
    same(metaacu.meta_regression(es, bcg()[["ablat"]]), metaacu.meta_regression(es, bcg()[["ablat"]], method="REML"))
    assert model_options("metafor", None, None) == model_options("metafor", "REML", "z", "test")


def _smd() -> metaacu.EffectSizes:
    rng = np.random.default_rng(3)
    n = rng.integers(15, 60, (2, 8))
    return metaacu.effect_sizes(
        "SMD", n1=n[0], mean1=rng.normal(1, 0.3, 8), sd1=np.ones(8), n2=n[1], mean2=np.zeros(8), sd2=np.ones(8)
    )


def test_an_smd_of_another_convention_is_noted_and_warned_about_once() -> None:
    smd = _smd()  # metafor's vtype="LS"
    groups = ["a"] * 4 + ["b"] * 4
    for call in (
        lambda: metaacu.meta_analysis(smd, profile="revman5"),
        lambda: metaacu.subgroup_analysis(smd, groups, profile="revman5"),
        lambda: metaacu.meta_regression(smd, np.arange(8.0), profile="revman5"),
    ):
        with pytest.warns(UserWarning, match="profile 'revman5'") as record:
            out = call()
        assert len([w for w in record if "profile 'revman5'" in str(w.message)]) == 1
        assert record[0].filename == __file__
        assert any("profile 'revman5'" in n for n in out.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = metaacu.effect_sizes("SMD", profile="revman5", **{c: smd.data[c] for c in smd.data.columns})
        metaacu.subgroup_analysis(ok, groups, profile="revman5")


def test_change_score_effect_sizes_take_the_profile() -> None:
    arms = {
        "n1": [30, 40],
        "mean_change1": [-2.0, -1.5],
        "sd_baseline1": [2.0, 2.2],
        "sd_final1": [2.1, 2.4],
        "n2": [30, 38],
        "mean_change2": [-1.0, -0.8],
        "sd_baseline2": [2.0, 2.3],
        "sd_final2": [2.2, 2.1],
        "correlation": 0.5,
    }
    default = metaacu.change_score_effect_sizes("SMD", **arms)
    revman = metaacu.change_score_effect_sizes("SMD", profile="revman5", **arms)
    assert default.options["vtype"] == "LS" and revman.options["vtype"] == PROFILES["revman5"].smd_vtype
    assert np.array_equal(revman.yi, metaacu.change_score_effect_sizes("SMD", vtype="RevMan5", **arms).yi)


def test_prediction_has_one_name_on_results_and_profiles(res: metaacu.MetaAnalysis) -> None:
    assert res.prediction == res.pi_method == "test"
    higgins = metaacu.meta_analysis(res.yi, res.vi, prediction="higgins")
    assert higgins.prediction == "higgins"
    assert higgins.prediction_interval() == higgins.prediction_interval(prediction="higgins")
    assert all(p.prediction == p.pi_method for p in PROFILES.values())


# --------------------------------------------------------------------------- signatures
def _public_callables() -> list[tuple[str, Callable[..., Any]]]:
    """Every public function of ``metaacu.__all__``, ``metaacu.conversions`` and ``metaacu.plots``, and
    the public methods of the exported classes."""
    out: list[tuple[str, Callable[..., Any]]] = []
    for space, names in ((metaacu, metaacu.__all__), (conversions, conversions.__all__), (plots, plots.__all__)):
        for name in names:
            obj = getattr(space, name)
            if inspect.isfunction(obj):
                out.append((name, obj))
            elif inspect.isclass(obj):
                out += [
                    (f"{name}.{a}", f) for a, f in vars(obj).items() if inspect.isfunction(f) and not a.startswith("_")
                ]
    return out


PUBLIC = _public_callables()


def _documented(func: Callable[..., Any], name: str) -> str:
    """The docstring entry of parameter ``name`` (numpydoc: ``name : type`` and its indented lines)."""
    doc = inspect.getdoc(func) or ""
    m = re.search(rf"^{name}\b[^\n]*:[^\n]*\n((?:[ \t]+[^\n]*\n?)*)", doc, re.M)
    return "" if m is None else m.group(0)


def test_the_signature_list_is_complete() -> None:
    names = {n for n, _ in PUBLIC}
    assert {"meta_analysis", "subgroup_analysis", "forest_plot", "cumulative", "log_or_to_smd"} <= names
    assert "MetaAnalysis.prediction_interval" in names


@pytest.mark.parametrize(("name", "func"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_each_argument_name_has_one_meaning(name: str, func: Callable[..., Any]) -> None:
    params = inspect.signature(func).parameters
    if "method" in params:  # the τ² estimator, nothing else
        default = params["method"].default
        assert default is None or default in TAU2_METHODS, name
        assert "τ²" in _documented(func, "method"), f"{name}: 'method' is not documented as the τ² estimator"
        assert "profile" in params, f"{name} estimates τ² but takes no profile"
    assert "order" not in params, f"{name}: the argument is sort_by (order was two things)"
    if "sort_by" in params:
        assert params["sort_by"].default is None and "sort key per study" in _documented(func, "sort_by"), name
    if "prediction" in params:
        assert params["prediction"].default is None or params["prediction"].default in PREDICTIONS, name
        assert '"higgins"' in _documented(func, "prediction") or "as in" in _documented(func, "prediction"), name
    if "profile" in params:
        assert params["profile"].default in (None, "metafor"), name
        assert '"revman5"' in _documented(func, "profile") or "as :func:" in _documented(func, "profile"), name
    if "tau2" in params:  # a number
        assert not isinstance(params["tau2"].default, str), name
    for p in params.values():
        assert not p.name.endswith("_method") and "_method_" not in p.name, f"{name}: {p.name}"


def test_every_function_that_fits_a_model_or_computes_an_smd_takes_profile() -> None:
    for name in (
        "meta_analysis",
        "subgroup_analysis",
        "meta_regression",
        "meta_analysis_batch",
        "effect_sizes",
        "change_score_effect_sizes",
    ):
        assert "profile" in inspect.signature(getattr(metaacu, name)).parameters, name


def test_analyses_of_a_fitted_model_take_the_model() -> None:
    """Sensitivity and bias analyses refit the model they are given (its method, test, prediction and
    profile), so they take a ``MetaAnalysis``, not effect sizes, and need no ``profile`` of their own."""
    for name in ("leave_one_out", "influence", "cumulative", "egger_test", "rank_test", "trim_and_fill", "fail_safe_n"):
        params = list(inspect.signature(getattr(metaacu, name)).parameters)
        assert params[0] == "result" and "profile" not in params and "method" not in params, name


def _kwargs_of_calls(tree: ast.AST) -> list[tuple[str, str, ast.expr, int]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            out += [(fname, k.arg, k.value, node.lineno) for k in node.keywords if k.arg is not None]
    return out


def _sources() -> list[tuple[str, str]]:
    files = sorted(SRC.rglob("*.py"))
    files += sorted((ROOT / "notebooks").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))
    out = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    out += [(f"README.md block {i}", b) for i, b in enumerate(re.findall(r"```python\n(.*?)```", readme, re.S))]
    return out


def test_internal_callers_use_the_new_names() -> None:
    """The library, CLI, audit, notebooks, benchmarks and README call no deprecated name (AST)."""
    old = {(func, o) for func, o, _ in RENAMES}
    ours = {n.rsplit(".", 1)[-1] for n, _ in PUBLIC}
    bad = []
    for where, source in _sources():
        for fname, kw, value, line in _kwargs_of_calls(ast.parse(source)):
            if (fname, kw) in old:
                bad.append(f"{where}:{line}: {fname}({kw}=...)")
            known = (*TAU2_METHODS, *GENQ_METHODS)  # GENQ/GENQM: with weights=
            if fname in ours and kw == "method" and isinstance(value, ast.Constant) and value.value not in known:
                bad.append(f"{where}:{line}: {fname}(method={value.value!r})")
    assert not bad, bad


def test_no_definition_gives_method_a_default_that_is_not_a_tau2_estimator() -> None:
    """AST over the whole library: a string default of an argument ``method`` is a τ² estimator, and
    no function takes ``order`` (it is ``sort_by``)."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.posonlyargs + node.args.args) - len(node.args.defaults))
                defaults += list(node.args.defaults) + list(node.args.kw_defaults)
                for arg, default in zip(args, defaults, strict=True):
                    if (
                        arg.arg == "method"
                        and isinstance(default, ast.Constant)
                        and isinstance(default.value, str)
                        and default.value not in TAU2_METHODS
                    ):
                        bad.append(f"{path.name}:{node.lineno} {node.name}(method={default.value!r})")
                    if arg.arg == "order" and not node.name.startswith("_"):
                        bad.append(f"{path.name}:{node.lineno} {node.name}(order)")
    assert not bad, bad


def test_choices_are_those_documented() -> None:
    assert set(TESTS) == {"z", "t", "knha", "adhoc"} and set(PREDICTIONS) == {"test", "higgins"}
    for bad, match in ((dict(method="rosenthal"), "'method'"), (dict(prediction="t"), "'prediction'")):
        with pytest.raises(MetaacuInputError, match=match):
            metaacu.meta_analysis([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], **bad)


def test_handover_lists_every_convention_and_deprecation() -> None:
    text = (ROOT / "HANDOVER.md").read_text(encoding="utf-8")
    section = text[text.index("## API conventions") :]
    section = section[: section.find("\n## ", 5)]
    for name in ("method", "test", "prediction", "profile", "sort_by", "tau2_mode", "approach", "level"):
        assert f"`{name}`" in section, name
    for func, old, new in RENAMES:
        assert f"{func}({old}=" in section and f"`{new}" in section, (func, old, new)
    assert "log_or_to_smd" in section and "ConvertedEffect" in section
