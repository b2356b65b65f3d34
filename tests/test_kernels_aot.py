"""The single-fit kernels compiled ahead of time (metaacu.kernels_aot) against the numba kernels they
are built from: the same bits for every τ² method and test, the build recognised as stale when a
kernel source changes, the numba route when disabled; and a fresh process's fit without numba."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from metaacu import kernel_codes, kernels, kernels_aot
from metaacu.tau2 import TAU2_METHODS, USER_WEIGHT_METHODS

PACKAGE = Path(kernels_aot.__file__).parent
BUILT = kernels_aot.is_current()
# Set-up (scripts/_env.sh) builds the extension wherever a C compiler exists: a missing build is a
# failure there, and a skip only on a machine without one.
CAN_BUILD = (shutil.which("cc") or shutil.which("gcc")) is not None and (
    Path(sysconfig.get_paths()["include"]) / "Python.h"
).is_file()
needs_build = pytest.mark.skipif(
    not BUILT and not CAN_BUILD,
    reason="no C compiler or Python headers: the ahead-of-time kernels cannot be built here (numba's are used)",
)


def test_codes_are_the_kernels_constants() -> None:
    """The kernels compare with constants fixed at compile time, in the order of TAU2_METHODS."""
    assert list(kernel_codes.METHOD_CODES) == list(TAU2_METHODS + USER_WEIGHT_METHODS)
    order = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM", "PMM", "DLIT", "SJIT", "HSk", "GENQ")
    assert [kernel_codes.METHOD_CODES[m] for m in order] == list(range(14))
    assert kernel_codes.TEST_CODES == {"z": 0, "t": 1, "knha": 2, "adhoc": 3}
    assert kernels.METHOD_CODES is kernel_codes.METHOD_CODES and kernels.NFIT == len(kernels.FIT_FIELDS) == 13


@needs_build
def test_build_is_current() -> None:
    assert BUILT, "run `python -m metaacu.kernels_aot` (scripts/_env.sh does at set-up)"


def _datasets() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20261202)
    out = []
    for k in (1, 2, 3, 5, 10, 40):
        for spread in (0.0, 0.3, 2.0):
            v = rng.uniform(0.005, 0.2, k)
            out.append((rng.normal(0.2, spread, k) + rng.normal(0, np.sqrt(v)), v))
    out.append((np.array([0.0, 0.0, 0.0]), np.array([0.1, 0.1, 0.1])))  # no spread at all
    out.append((np.array([-1.0, 1.0, 3.0, -2.5]), np.array([1e-3, 1e-3, 5.0, 5.0])))  # bimodal-prone
    return out


@needs_build
@pytest.mark.parametrize("test", ["z", "t", "knha", "adhoc"])
def test_same_bits_as_numba(test: str) -> None:
    aot = importlib.import_module(f"metaacu.{kernels_aot.MODULE}")
    tcode = kernel_codes.TEST_CODES[test]
    compared = 0
    for y, v in _datasets():
        if y.size == 1 and test != "z":
            continue
        for method, code in kernel_codes.METHOD_CODES.items():
            outs, pcts = [], []
            for module in (aot, kernels):
                out, pct = np.empty(kernel_codes.NFIT), np.empty(y.size)
                if method in USER_WEIGHT_METHODS:
                    module.fit_one_options(y, v, 1.0 / np.sqrt(v), np.nan, code, tcode, out, pct)
                else:
                    module.fit_one(y, v, code, tcode, out, pct)
                outs.append(out)
                pcts.append(pct)
            np.testing.assert_array_equal(outs[0], outs[1], err_msg=f"{method} {test} k={y.size}")
            np.testing.assert_array_equal(pcts[0], pcts[1])
            # the options entry point: user weights and a fixed τ²
            for a, fixed in ((1.0 / v, np.nan), (np.empty(0), 0.05)):
                if method in USER_WEIGHT_METHODS and a.size == 0:
                    continue
                got = []
                for module in (aot, kernels):
                    out, pct = np.empty(kernel_codes.NFIT), np.empty(y.size)
                    module.fit_one_options(y, v, a, fixed, code, tcode, out, pct)
                    got.append((out, pct))
                np.testing.assert_array_equal(got[0][0], got[1][0])
                np.testing.assert_array_equal(got[0][1], got[1][1])
            compared += 1
    assert compared > 200


def test_stale_when_a_source_changes(tmp_path: Path) -> None:
    for name in kernels_aot.SOURCES:
        shutil.copy(PACKAGE / name, tmp_path / name)
    assert not kernels_aot.is_current(tmp_path)  # nothing built there
    (tmp_path / f"{kernels_aot.MODULE}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert not kernels_aot.is_current(tmp_path)  # no digest
    (tmp_path / f"{kernels_aot.MODULE}.sha256").write_text(kernels_aot.source_digest(tmp_path) + "\n")
    assert kernels_aot.is_current(tmp_path)
    with open(tmp_path / "kernels_core.py", "a") as fh:
        fh.write("\n# an edit\n")
    assert not kernels_aot.is_current(tmp_path)
    assert kernels_aot.source_digest(tmp_path) != kernels_aot.source_digest(PACKAGE) or not BUILT


def _fresh(code: str, **env: str) -> str:
    full_env = {**os.environ, **env}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, check=True)
    return done.stdout.strip()


FIT = (
    "import sys, metaacu; r = metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05]); "
    "print(repr(r.estimate), repr(r.tau2), 'numba' in sys.modules, 'pandas' in sys.modules, "
    "metaacu.kernels_aot.single_fit_kernels().__name__)"
)


@needs_build
def test_fresh_process_fits_without_numba_or_pandas() -> None:
    est, tau2, numba_loaded, pandas_loaded, module = _fresh(FIT).split()
    assert (numba_loaded, pandas_loaded, module) == ("False", "False", f"metaacu.{kernels_aot.MODULE}")
    est0, tau20, numba0, _, module0 = _fresh(FIT, METAACU_AOT="0").split()
    assert (numba0, module0) == ("True", "metaacu.kernels")
    assert (est, tau2) == (est0, tau20)  # the same numbers by either route
