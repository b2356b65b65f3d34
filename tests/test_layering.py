"""Architecture: imports only go down the layers, private names stay in their module, and the library
imports without the audit.

Layers, lowest first: engine (effect sizes, τ², pooling, results, presentation of results) →
analyses (binary pooling, subgroups, meta-regression, sensitivity, bias) → plots → audit → cli.
Read from the source with :mod:`ast`, so function-level (lazy) imports are checked too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "metaacu"
ANALYSES = frozenset({"binary", "subgroups", "regression", "sensitivity", "bias", "trimfill"})
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
    return LAYERS.index("analyses") if top in ANALYSES else LAYERS.index("engine")


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports(module: str) -> list[tuple[str, tuple[str, ...], int]]:
    """(target module, imported names, line) of every ``from metaacu... import`` in ``module``."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_go_up_a_layer(module):
    for target, _, line in _imports(module):
        owner = _owner(target)
        assert _layer(owner) <= _layer(module), (
            f"{module} (layer {LAYERS[_layer(module)]}) imports {target} (layer {LAYERS[_layer(owner)]}) at line {line}")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_cross_modules(module):
    for target, names, line in _imports(module):
        for name in names:
            assert not (name.startswith("_") and not name.startswith("__")), (
                f"{module} imports the private name {name!r} from {target} at line {line}")


def test_the_layer_check_can_fail():
    """The checker sees an upward import when there is one (guards against a test that cannot fail)."""
    assert _layer("metaacu.pooling") < _layer("metaacu.audit.claims")
    assert any(_owner(t) == "metaacu.pooling" for t, _, _ in _imports("metaacu.audit.claims"))


def test_library_imports_and_runs_without_the_audit():
    code = ("import sys, metaacu; r = metaacu.meta_analysis([0.1, 0.3], [0.02, 0.03]); "
            "metaacu.forest_plot(r); print(sorted(m for m in sys.modules if m.startswith('metaacu.audit')))")
    env = {"MPLBACKEND": "Agg", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"
