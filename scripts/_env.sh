# Sourced by scripts/test and scripts/reproduce: create .venv and install the pinned tools once.
# Idempotent: reinstalls only when pyproject.toml or requirements-dev.txt changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "metaacu needs Python 3.11 or newer")'
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating virtual environment in .venv" >&2
    "$PY" -m venv .venv
fi
STAMP=.venv/.metaacu-installed
WANT="$(cat pyproject.toml requirements-dev.txt | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "[setup] installing metaacu and its pinned dependencies (JupyterLab included) into .venv: about 1-3 minutes" >&2
    echo "[setup] (first run only, and again only after pyproject.toml or requirements-dev.txt change)" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
    echo "$WANT" > "$STAMP"
fi
# The single-fit kernels compiled ahead of time (metaacu/kernels_aot.py): a fresh process's first fit
# then needs no numba start-up. Rebuilt only when the kernel sources change; without a C compiler
# the build is skipped and numba compiles the same kernels on first use.
if ! .venv/bin/python -m metaacu.kernels_aot --check; then
    echo "[setup] precompiling the single-fit kernels (about 15 s, after each change to the kernels)" >&2
    .venv/bin/python -m metaacu.kernels_aot
fi
export MPLBACKEND=Agg
export PYTHONHASHSEED=0
