"""The single-fit kernels compiled ahead of time, so that one fit in a fresh process needs no numba.

numba compiles :mod:`metaacu.kernels` on first use and caches the machine code, but loading that
cache still starts numba's compiler (about 0.6 s per process: numba itself, its type registries and
SciPy's BLAS, which numba imports).  A script, a command-line call or a notebook kernel that fits one
model pays that for a 3 µs computation.  This module builds, from the **same source**, an ordinary
extension module ``metaacu/_kernels_aot`` holding :func:`metaacu.kernels.fit_one` and
:func:`metaacu.kernels.fit_one_options` (numba's ahead-of-time compiler, :mod:`numba.pycc`; a C
compiler is needed once, at set-up), and :func:`single_fit_kernels` returns it when it was built from
the kernel sources as they are now.  Otherwise (no C compiler at set-up, sources edited since the
build, or ``METAACU_AOT=0`` in the environment) the single fit runs the numba-compiled kernels, with
the same numbers: ``tests/test_kernels_aot.py`` checks the two agree bit for bit on every τ² method
and test.  Batches and refits always run the numba kernels (their loop over rows is parallel).

Whether a build is current is decided by a SHA-256 digest of the kernel sources, written beside the
extension when it is built (``_kernels_aot.sha256``) and compared on first use (reading four small
files, ~0.1 ms).

Build (``scripts/_env.sh`` does it at set-up, when the digest differs)::

    python -m metaacu.kernels_aot          # build if missing or stale
    python -m metaacu.kernels_aot --check  # exit status 0 if current, 1 if not
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Final

__all__ = ["MODULE", "SOURCES", "build", "is_current", "single_fit_kernels", "source_digest"]

#: Name of the extension module (in the package directory).
MODULE: Final = "_kernels_aot"
#: The files whose code the extension holds (the kernels, their codes, the τ² method list).
SOURCES: Final = ("kernels.py", "kernels_core.py", "kernels_extra.py", "kernel_codes.py", "tau2.py")
#: The exported functions and their numba signatures.
_EXPORTS: Final = {
    "fit_one": "void(f8[::1], f8[::1], i8, i8, f8[::1], f8[::1])",
    "fit_one_options": "void(f8[::1], f8[::1], f8[::1], f8, i8, i8, f8[::1], f8[::1])",
}
_HERE: Final = Path(__file__).resolve().parent
_CHOSEN: list[Any] = []


def source_digest(directory: Path = _HERE) -> str:
    """SHA-256 of the kernel sources in ``directory`` (in the order of :data:`SOURCES`)."""
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode())
        h.update((directory / name).read_bytes())
    return h.hexdigest()


def _digest_file(directory: Path) -> Path:
    return directory / f"{MODULE}.sha256"


def is_current(directory: Path = _HERE) -> bool:
    """True when an extension was built in ``directory`` from the kernel sources as they are now."""
    stamp = _digest_file(directory)
    built = any(directory.glob(f"{MODULE}.*.so")) or any(directory.glob(f"{MODULE}.*.pyd"))
    return built and stamp.is_file() and stamp.read_text().strip() == source_digest(directory)


def single_fit_kernels() -> Any:
    """The module whose ``fit_one``/``fit_one_options`` the single fit calls: the ahead-of-time build
    when it is current and not disabled by ``METAACU_AOT=0``, else :mod:`metaacu.kernels` (numba).
    Decided once per process."""
    if not _CHOSEN:
        chosen: ModuleType | None = None
        if os.environ.get("METAACU_AOT", "1") != "0" and is_current():
            try:
                chosen = importlib.import_module(f"metaacu.{MODULE}")
            except ImportError:  # built for another Python, or damaged: use numba
                chosen = None
        if chosen is None:
            chosen = importlib.import_module("metaacu.kernels")
        _CHOSEN.append(chosen)
    return _CHOSEN[0]


def build(directory: Path = _HERE) -> Path:
    """Compile :data:`_EXPORTS` from :mod:`metaacu.kernels` into ``directory`` and write the digest.

    Raises whatever numba's compiler or the C toolchain raises (the caller decides whether a failed
    build matters: without it the single fit uses numba)."""
    from . import kernels

    with warnings.catch_warnings():
        # numba marks pycc as pending deprecation; when it is removed, set-up skips this build
        warnings.simplefilter("ignore")
        llvm: Any = importlib.import_module("llvmlite.binding")  # (untyped, as numba)
        pycc: Any = importlib.import_module("numba.pycc")

        cc = pycc.CC(MODULE)
        cc.output_dir = str(directory)
        cc.verbose = False
        # for this machine's processor, as numba's just-in-time compiler does (the build is local)
        cc.target_cpu = llvm.get_host_cpu_name()
        for name, signature in _EXPORTS.items():
            cc.export(name, signature)(getattr(kernels, name).py_func)
        digest = source_digest()
        cc.compile()
    _digest_file(directory).write_text(digest + "\n")
    return directory


def main(argv: list[str]) -> int:
    """``python -m metaacu.kernels_aot [--check]``: build when stale; with ``--check`` only report."""
    if "--check" in argv:
        return 0 if is_current() else 1
    if is_current():
        print(f"metaacu: precompiled single-fit kernels are current ({MODULE})", file=sys.stderr)
        return 0
    try:
        build()
    except Exception as exc:  # any toolchain failure leaves the numba route in place
        print(f"metaacu: could not precompile the single-fit kernels ({exc}); numba compiles them on first use")
        return 0
    print(f"metaacu: precompiled the single-fit kernels into {_HERE / MODULE}*", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
