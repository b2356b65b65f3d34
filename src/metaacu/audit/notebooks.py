"""Execute the project's notebooks (``notebooks/*.py`` in jupytext py:percent form)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["execute_all", "execute_notebook", "notebook_sources"]


def notebook_sources(directory: Path | None = None) -> list[Path]:
    """The py:percent notebook sources, in name order."""
    from .data import default_data_dir

    folder = directory or default_data_dir().parent / "notebooks"
    return sorted(folder.glob("[0-9][0-9]_*.py"))


def execute_notebook(source: Path, out_dir: Path | None = None, *, timeout: int = 300) -> Path | None:
    """Run one notebook top to bottom in a fresh kernel; save the executed copy in ``out_dir``."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up chatter on the terminal
    )
    client.execute()
    if out_dir is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (source.stem + ".ipynb")
    import nbformat

    nbformat.write(nb, target)
    return target


def execute_all(out_dir: Path, *, progress: Callable[[str], None] = print) -> list[Path]:
    """Execute every notebook into ``out_dir``."""
    done = []
    for src in notebook_sources():
        progress(f"      {src.name}")
        path = execute_notebook(src, out_dir)
        if path is not None:
            done.append(path)
    return done
