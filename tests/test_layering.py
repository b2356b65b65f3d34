"""Architecture: imports only go down the layers, private names stay in their module, and the library
imports without the audit.

Layers, lowest first: engine (effect sizes, τ², pooling, results, presentation of results) →
analyses (binary pooling, subgroups, meta-regression, sensitivity, bias, the Bayesian model) → plots →
audit → cli.
Read from the source with :mod:`ast`, so function-level (lazy) imports are checked too.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "metaacu"
ANALYSES = frozenset(
    {"binary", "subgroups", "regression", "sensitivity", "bias", "trimfill"}
    | {"multilevel", "multilevel_blups", "multilevel_compare", "multilevel_fit", "multilevel_result"}
    | {"multilevel_structures"}
    | {"robust", "permutation", "hypotheses", "working_model"}
)
LAYERS = ("engine", "analyses", "plots", "audit", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top == "audit":
        return LAYERS.index("audit")
    if top == "plots":
        return LAYERS.index("plots")
    if top in ("cli", "__main__"):
        return LAYERS.index("cli")
    analysis = top in ANALYSES or top.startswith("bayes")  # the Bayesian model: bayes, bayes_*.py
    return LAYERS.index("analyses") if analysis else LAYERS.index("engine")


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports(
    module: str, source: str | None = None, is_package: bool = False
) -> list[tuple[str, tuple[str, ...], int]]:
    """(target module, imported names, line) of every ``from metaacu... import`` in ``module`` (read from
    its file, or from ``source`` when given)."""
    if source is None:
        path = MODULES[module]
        source, is_package = path.read_text(encoding="utf-8"), path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] == "metaacu":
                out.append((target, tuple(a.name for a in node.names), node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, (), node.lineno) for a in node.names if a.name.split(".")[0] == "metaacu"]
    return out


def _owner(target: str) -> str:
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def test_the_module_list_is_complete():
    assert "metaacu.pooling" in MODULES and "metaacu.audit.claims" in MODULES and "metaacu.plots.forest" in MODULES
    assert {_layer(m) for m in MODULES} == set(range(len(LAYERS)))


def _upward(module: str, imports: list[tuple[str, tuple[str, ...], int]]) -> list[str]:
    return [
        f"{module} (layer {LAYERS[_layer(module)]}) imports {t} (layer {LAYERS[_layer(_owner(t))]}) at line {line}"
        for t, _, line in imports
        if _layer(_owner(t)) > _layer(module)
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_go_up_a_layer(module):
    assert not _upward(module, _imports(module))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_cross_modules(module):
    for target, names, line in _imports(module):
        for name in names:
            assert not (name.startswith("_") and not name.startswith("__")), (
                f"{module} imports the private name {name!r} from {target} at line {line}"
            )


def test_the_layer_check_can_fail():
    """The checker sees an upward import when there is one (guards against a test that cannot fail)."""
    fake = "def f():\n    from .audit.claims import evaluate_claim\n    from ._validation import _hidden\n"
    found = _upward("metaacu.pooling", _imports("metaacu.pooling", fake))
    assert found == ["metaacu.pooling (layer engine) imports metaacu.audit.claims (layer audit) at line 2"]
    assert any(n.startswith("_") for _, names, _ in _imports("metaacu.pooling", fake) for n in names)


def test_library_imports_and_runs_without_the_audit():
    code = (
        "import sys, metaacu; r = metaacu.meta_analysis([0.1, 0.3], [0.02, 0.03]); "
        "metaacu.forest_plot(r); print(sorted(m for m in sys.modules if m.startswith('metaacu.audit')))"
    )
    env = {"MPLBACKEND": "Agg", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"


def test_handover_module_map_names_real_modules():
    """Every `module.py` the HANDOVER module map names exists (in the library, plots or the audit)."""
    text = (SRC.parents[1] / "HANDOVER.md").read_text(encoding="utf-8")
    start, end = text.index("## Module map"), text.index("## Validation")
    names = set(re.findall(r"`([a-z_]+\.py)`", text[start:end]))
    assert len(names) >= 25
    files = {p.name for p in SRC.rglob("*.py")}
    assert names <= files, sorted(names - files)
