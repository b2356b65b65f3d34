"""`import metaacu` stays light: no matplotlib, pandas or scipy until a function needs them."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light():
    code = "import sys, metaacu; print(sorted(m for m in ('matplotlib', 'pandas', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_public_names_resolve():
    import metaacu

    for name in metaacu.__all__:
        assert getattr(metaacu, name) is not None, name
    assert callable(metaacu.effect_sizes)
