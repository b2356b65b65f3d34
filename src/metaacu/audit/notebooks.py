"""Execute the project's notebooks (``notebooks/*.py`` in jupytext py:percent form).

The notebooks load their data through the audit's loaders, which read ``$METAACU_DATA`` when it is
set; :func:`execute_notebook` therefore hands the data folder to each kernel through the kernel's
environment (never through ``os.environ`` of the calling process), so a notebook reads the same
tables as the :func:`metaacu.audit.reproduce` run that executes it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "NotebookExecutionError",
    "execute_all",
    "execute_notebook",
    "kernel_environment",
    "notebook_dir",
    "notebook_sources",
]


class NotebookExecutionError(RuntimeError):
    """A notebook could not be found or did not run top to bottom (the message names it)."""


def notebook_dir() -> Path:
    """The repository's ``notebooks/`` folder (next to ``src/``; independent of ``$METAACU_DATA``)."""
    return Path(__file__).resolve().parents[3] / "notebooks"


def notebook_sources(directory: Path | None = None) -> list[Path]:
    """The py:percent notebook sources, in name order.

    Parameters
    ----------
    directory : Path, optional
        Where to look; default :func:`notebook_dir`.  The notebooks belong to the code, not to the
        data, so a data folder elsewhere (``$METAACU_DATA``) does not move them.

    Returns
    -------
    list of Path
        ``NN_*.py`` files, sorted by name; empty when there are none.
    """
    folder = directory if directory is not None else notebook_dir()
    return sorted(folder.glob("[0-9][0-9]_*.py"))


def kernel_environment(data_dir: str | Path | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a notebook kernel is started with.

    Parameters
    ----------
    data_dir : path-like, optional
        The data folder the notebooks must read; set as ``METAACU_DATA`` (as an absolute path, since
        the kernel runs in ``notebooks/``).  When None, ``METAACU_DATA`` is passed on as inherited.
    base : mapping, optional
        The environment to start from; default a copy of ``os.environ`` (which is never modified).

    Returns
    -------
    dict
        ``base`` plus ``MPLBACKEND=Agg`` unless a backend is already chosen, and ``METAACU_DATA``.
    """
    env = dict(os.environ if base is None else base)
    env.setdefault("MPLBACKEND", "Agg")
    if data_dir is not None:
        env["METAACU_DATA"] = str(Path(data_dir).resolve())
    return env


def _merge_adjacent_streams(nb: Any) -> None:
    """Join consecutive stdout (or stderr) outputs of a cell into one, in place.

    How a kernel splits printed text into messages depends on timing; joined, the saved copy does not.
    Unlike nbclient's ``coalesce_streams``, text is never moved past a table or figure shown between.
    """
    for cell in nb.cells:
        merged: list[Any] = []
        for output in cell.get("outputs", []):
            prev = merged[-1] if merged else None
            if (
                output.get("output_type") == "stream"
                and prev is not None
                and prev.get("output_type") == "stream"
                and prev.get("name") == output.get("name")
            ):
                prev["text"] = "".join(prev["text"]) + "".join(output["text"])
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged


def execute_notebook(
    source: Path, out_dir: Path | None = None, *, timeout: int = 300, data_dir: str | Path | None = None
) -> Path | None:
    """Run one notebook top to bottom in a fresh kernel; save the executed copy in ``out_dir``.

    Parameters
    ----------
    source : Path
        A py:percent notebook.
    out_dir : Path, optional
        Where to write ``<stem>.ipynb`` with its outputs; nothing is written when None.
    timeout : int
        Seconds allowed per cell.
    data_dir : path-like, optional
        The data folder, passed to the kernel as ``METAACU_DATA`` (see :func:`kernel_environment`).

    Returns
    -------
    Path or None
        The executed copy, or None when ``out_dir`` is None.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        When a cell raises (the message shows the cell and the traceback).
    """
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, cell in enumerate(nb.cells):  # jupytext draws random cell ids: number them, for identical copies
        cell["id"] = f"cell-{i}"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up chatter on the terminal
        record_timing=False,  # no per-cell timestamps in the saved copy
    )
    client.execute(env=kernel_environment(data_dir))  # env goes to the kernel manager's start_kernel
    _merge_adjacent_streams(nb)
    if out_dir is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (source.stem + ".ipynb")
    import nbformat

    nbformat.write(nb, target)  # type: ignore[no-untyped-call]  # nbformat ships py.typed but leaves write unannotated
    return target


def execute_all(
    out_dir: Path,
    *,
    data_dir: str | Path | None = None,
    sources: list[Path] | None = None,
    progress: Callable[[str], None] = print,
) -> list[Path]:
    """Execute every notebook into ``out_dir``; refuse to report success having run none.

    Parameters
    ----------
    out_dir : Path
        Where the executed copies go.
    data_dir : path-like, optional
        The data folder the notebooks read (see :func:`execute_notebook`).
    sources : list of Path, optional
        The notebooks; default :func:`notebook_sources`.
    progress : callable
        Receives one line per notebook.

    Returns
    -------
    list of Path
        The executed copies, one per source, in order.

    Raises
    ------
    NotebookExecutionError
        When there is no notebook to run, or a notebook fails (chained to the cell error).
    """
    sources = notebook_sources() if sources is None else sources
    if not sources:
        raise NotebookExecutionError(
            f"executing notebooks: no NN_*.py notebook found in {notebook_dir()} "
            "(run from a clone of the repository, or pass --no-notebooks)"
        )
    done = []
    for i, src in enumerate(sources, 1):
        progress(f"      {src.name} ({i}/{len(sources)})")
        try:
            path = execute_notebook(src, out_dir, data_dir=data_dir)
        except Exception as exc:
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the kernel's traceback is coloured
            first = (text.strip().splitlines() or [type(exc).__name__])[-1]
            raise NotebookExecutionError(f"executing notebooks: {src.name} failed: {first}") from exc
        if path is None:  # cannot happen with an out_dir; guards against a silently skipped notebook
            raise NotebookExecutionError(f"executing notebooks: {src.name} wrote no executed copy")
        done.append(path)
    return done
