"""Type checkers see the public API of ``metaacu`` although the package exports it lazily.

``metaacu/__init__.py`` resolves its names through a module ``__getattr__`` (so that ``import metaacu``
stays light); the stub ``metaacu/__init__.pyi`` imports the same names for type checkers.  These tests
run mypy on a snippet that uses ``metaacu.<name>`` and check the revealed types, and check that the lazy
table and the stub list the same names from the same modules.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import metaacu

mypy_api = pytest.importorskip("mypy.api")

INIT = Path(metaacu.__file__)
STUB = INIT.with_suffix(".pyi")
SRC = INIT.parent.parent

# numpy, pandas, scipy and matplotlib are not analysed (their types become Any): a cold mypy run then
# takes about a second instead of fifteen, and the revealed metaacu types do not depend on them.
CONFIG = f"""\
[mypy]
strict = True
mypy_path = {SRC}
[mypy-numpy.*,pandas.*,scipy.*,matplotlib.*,dask.*]
follow_imports = skip
follow_imports_for_stubs = True
"""


def _reveal(tmp_path: Path, code: str) -> tuple[list[str], str]:
    """Run mypy on ``code``; return the revealed types in order and mypy's whole report."""
    (tmp_path / "mypy.ini").write_text(CONFIG, encoding="utf-8")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(code, encoding="utf-8")
    stdout, stderr, _ = mypy_api.run(
        [
            "--config-file",
            str(tmp_path / "mypy.ini"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            str(snippet),
        ]
    )
    report = stdout + stderr
    return re.findall(r'Revealed type is "(.*)"', report), report


def test_meta_analysis_reveals_meta_analysis(tmp_path: Path) -> None:
    code = (
        "import metaacu\n"
        "res = metaacu.meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01])\n"
        "reveal_type(res)\n"
        "reveal_type(res.estimate)\n"
    )
    revealed, report = _reveal(tmp_path, code)
    assert revealed == ["metaacu.results.MetaAnalysis", "float"], report
    assert ": error:" not in report, report


def test_every_public_name_is_typed(tmp_path: Path) -> None:
    names = [n for n in metaacu.__all__ if n != "__version__"]
    code = "import metaacu\n" + "".join(f"reveal_type(metaacu.{n})\n" for n in names)
    revealed, report = _reveal(tmp_path, code)
    assert len(revealed) == len(names), report
    untyped = [n for n, t in zip(names, revealed, strict=True) if t == "Any"]
    assert untyped == [], f"seen by type checkers as Any (missing from metaacu/__init__.pyi): {untyped}"
    assert ": error:" not in report, report


def _lazy_table() -> dict[str, str]:
    for node in ast.parse(INIT.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
            table: dict[str, str] = ast.literal_eval(node.value)
            return table
    raise AssertionError("no _EXPORTS table in metaacu/__init__.py")


def _stub_imports() -> dict[str, str]:
    out: dict[str, str] = {}
    for node in ast.parse(STUB.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            assert isinstance(node, ast.ImportFrom) and node.level == 1 and node.module, ast.unparse(node)
            for alias in node.names:
                # ``from .m import x as x``: the explicit re-export form of a stub
                assert alias.asname == alias.name, ast.unparse(node)
                out[alias.name] = node.module
    return out


def test_stub_mirrors_the_lazy_table() -> None:
    assert _stub_imports() == _lazy_table()
