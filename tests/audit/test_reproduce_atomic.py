"""``reproduce`` is atomic, says what it skipped, runs the notebooks against the data it used, and
writes a manifest that matches the folder.  Notebook execution is replaced by a counting fake here
(the real notebooks run in ``tests/test_reproduce.py``, marked slow)."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

import metaacu.audit.notebooks as nbmod
from metaacu import MetaacuInputError
from metaacu.audit import default_data_dir, reproduce
from metaacu.audit.reproduce import MANIFEST, ReproduceError, verify_results
from metaacu.cli import main

rmod = importlib.import_module("metaacu.audit.reproduce")  # the attribute `metaacu.audit.reproduce` is the function
QUIET = {"progress": lambda s: None}


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (folders as None) with its bytes."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))
    }


def _old_results(folder: Path) -> Path:
    """A results folder of an earlier (pre-manifest) run, with a report that disagrees with its tables."""
    (folder / "figures").mkdir(parents=True)
    (folder / "figures" / "old_claim.png").write_bytes(b"\x89PNG old")
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "01_chronic_pain.ipynb").write_text("{}", encoding="utf-8")
    for name in ("claims.csv", "claims.md", "reproduction.csv"):
        (folder / name).write_text(f"old {name}\n", encoding="utf-8")
    (folder / "report.html").write_text("<p>supported</p>", encoding="utf-8")
    (folder / "stale.txt").write_text("from an earlier run", encoding="utf-8")
    return folder


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def _fake_executor(calls: list[tuple[str, str | None]]):
    def fake(source: Path, out_dir: Path | None = None, *, timeout: int = 300, data_dir=None) -> Path:
        calls.append((source.name, os.fspath(data_dir) if data_dir is not None else None))
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{source.stem}.ipynb"
        target.write_text(json.dumps({"executed": source.name}), encoding="utf-8")
        return target

    return fake


@pytest.fixture(scope="module")
def env_run(tmp_path_factory):
    """One run with METAACU_DATA set to a copy of data/, into an old results folder, notebooks faked."""
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("envrun")
    data = base / "elsewhere" / "data"
    shutil.copytree(default_data_dir(), data)
    out = _old_results(base / "results")
    calls: list[tuple[str, str | None]] = []
    mp.setenv("METAACU_DATA", str(data))
    mp.setattr(nbmod, "execute_notebook", _fake_executor(calls))
    lines: list[str] = []
    try:
        reproduce(out, progress=lines.append)
    finally:
        mp.undo()
    return out, data, calls, lines


def test_notebooks_run_against_the_data_in_metaacu_data(env_run):
    out, data, calls, lines = env_run
    sources = nbmod.notebook_sources()
    assert len(sources) >= 11  # the sources live with the code, not next to $METAACU_DATA
    assert [name for name, _ in calls] == [p.name for p in sources]
    assert {d for _, d in calls} == {str(data.resolve())}
    assert any(str(data.resolve()) in line for line in lines)
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == sorted(f"{p.stem}.ipynb" for p in sources)


def test_a_successful_run_replaces_the_old_folder_as_a_whole(env_run):
    out, _, _, _ = env_run
    assert not (out / "stale.txt").exists() and not (out / "figures" / "old_claim.png").exists()
    assert (out / "claims.md").read_text(encoding="utf-8") != "old claims.md\n"
    assert (out / "report.html").read_text(encoding="utf-8") != "supported</p>"
    assert _siblings(out) == []


def test_manifest_lists_every_file_with_its_hash(env_run):
    out, data, _, _ = env_run
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    on_disk = {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in out.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    assert manifest["files"] == on_disk and len(on_disk) > 20
    assert manifest["status"] == "complete" and manifest["complete_without_skips"] and manifest["skipped"] == []
    assert [s["status"] for s in manifest["steps"]] == ["done"] * 5
    assert manifest["data_dir"] == str(data.resolve())
    assert manifest["data_files"]["claims.toml"] == hashlib.sha256((data / "claims.toml").read_bytes()).hexdigest()
    assert "timestamp" not in json.dumps(manifest).lower()
    assert verify_results(out) == []


def test_verify_results_sees_a_changed_extra_or_missing_file(env_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(env_run[0], copy)
    (copy / "claims.md").write_text("edited", encoding="utf-8")
    (copy / "extra.txt").write_text("x", encoding="utf-8")
    (copy / "certainty.csv").unlink()
    assert verify_results(copy) == [
        f"certainty.csv: listed in {MANIFEST} but missing",
        f"extra.txt: not listed in {MANIFEST}",
        f"claims.md: SHA-256 differs from {MANIFEST}",
    ]


def test_a_late_failure_leaves_the_old_folder_untouched(tmp_path, monkeypatch):
    out = _old_results(tmp_path / "results")
    before = _snapshot(out)

    def half_done(out_dir: Path, **kwargs) -> list[Path]:
        out_dir.mkdir()
        (out_dir / "00_tutorial.ipynb").write_text("{}", encoding="utf-8")
        raise nbmod.NotebookExecutionError("executing notebooks: 01_chronic_pain.py failed: boom")

    drawn: list[str] = []

    def few_figures(r):  # draw two claim figures only: the failure still comes after figures and tables
        drawn.append(r.id)
        return original(r) if len(drawn) <= 2 else None

    original = rmod.claim_figure
    monkeypatch.setattr(rmod, "claim_figure", few_figures)
    monkeypatch.setattr(nbmod, "execute_all", half_done)
    with pytest.raises(ReproduceError, match=r"\[5/5\] execute the notebooks.*01_chronic_pain.*left as it was"):
        reproduce(out, **QUIET)
    assert len(drawn) > 2  # every claim reached the figure step before the notebooks failed
    assert _snapshot(out) == before
    assert _siblings(out) == []


def test_no_notebooks_to_run_is_an_error(tmp_path):
    with pytest.raises(nbmod.NotebookExecutionError, match="no NN_"):
        nbmod.execute_all(tmp_path / "nb", sources=[], progress=lambda s: None)


def test_the_kernel_gets_the_environment_and_the_caller_keeps_its_own(tmp_path, monkeypatch):
    import nbclient

    seen = {}

    class FakeClient:
        def __init__(self, nb, **kwargs):
            seen["init"], self.nb = kwargs, nb

        def execute(self, **kwargs):
            seen["env"] = kwargs["env"]
            code = next(c for c in self.nb.cells if c.cell_type == "code")
            code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in ("a", "b\n")]
            code.outputs += [
                nbformat.v4.new_output("display_data", data={"text/plain": "table"}),
                nbformat.v4.new_output("stream", name="stdout", text="c"),
            ]

    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("METAACU_DATA", "somewhere/else")
    monkeypatch.setattr(nbclient, "NotebookClient", FakeClient)
    data = tmp_path / "data"
    saved = nbmod.execute_notebook(nbmod.notebook_sources()[0], tmp_path / "out", data_dir=data)
    assert seen["env"]["MPLBACKEND"] == "Agg" and seen["env"]["METAACU_DATA"] == str(data.resolve())
    assert "MPLBACKEND" not in os.environ and os.environ["METAACU_DATA"] == "somewhere/else"
    assert seen["init"]["record_timing"] is False
    nb = nbformat.read(saved, as_version=4)  # identical copies: numbered cell ids, split output joined
    assert [c.id for c in nb.cells] == [f"cell-{i}" for i in range(len(nb.cells))]
    outputs = next(c for c in nb.cells if c.cell_type == "code").outputs
    assert [(o.output_type, o.get("text")) for o in outputs] == [
        ("stream", "ab\n"),
        ("display_data", None),
        ("stream", "c"),
    ]


@pytest.mark.parametrize("kind", ["foreign folder", "holds the data", "is a file"])
def test_refuses_to_replace_what_it_did_not_write(tmp_path, kind):
    if kind == "foreign folder":
        out = tmp_path / "thesis"
        out.mkdir()
        (out / "chapter1.tex").write_text("precious", encoding="utf-8")
    elif kind == "holds the data":
        out = tmp_path
        shutil.copytree(default_data_dir(), tmp_path / "data")
        _old_results(tmp_path / "x")
        for name in ("claims.csv", "claims.md", "reproduction.csv"):
            shutil.copy(tmp_path / "x" / name, tmp_path / name)
    else:
        out = tmp_path / "file.txt"
        out.write_text("not a folder", encoding="utf-8")
    before = _snapshot(tmp_path)
    with pytest.raises(MetaacuInputError, match="reproduce --out"):
        reproduce(out, data_dir=tmp_path / "data" if kind == "holds the data" else None, **QUIET)
    assert _snapshot(tmp_path) == before


def test_cli_exit_status_on_failure(tmp_path, monkeypatch, capsys):
    out = _old_results(tmp_path / "results")
    before = _snapshot(out)

    def boom(run):
        raise RuntimeError("injected")

    monkeypatch.setattr(rmod, "_evaluate", boom)
    assert main(["reproduce", "--out", str(out), "--no-notebooks"]) == 1
    err = capsys.readouterr().err
    assert "metaacu reproduce: error: reproduce step [2/5] evaluate the claims failed: RuntimeError: injected" in err
    monkeypatch.setenv("METAACU_DATA", str(tmp_path / "no_such_data"))
    assert main(["reproduce", "--out", str(out), "--no-notebooks"]) == 2
    assert "[1/5] load and validate the data" in capsys.readouterr().err
    assert _snapshot(out) == before and _siblings(out) == []


def test_the_report_says_when_notebooks_were_skipped():
    import pandas as pd

    from metaacu.audit.report import html_report

    repro = pd.DataFrame(
        columns=["target", "published", "recomputed", "difference", "explanation", "locator", "source"]
    )
    skipped = html_report([], {}, repro, notebooks_run=False)
    assert "Notebooks were not executed in this run" in skipped and "MANIFEST.json" in skipped
    assert "Notebooks were not executed" not in html_report([], {}, repro, notebooks_run=True)


def test_progress_lines_update_in_place_in_a_terminal_and_are_kept_in_a_log():
    import io

    from metaacu.cli import _Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    lines = ["[2/5] evaluate the claims", "      a (1/2): supported", "      bb (2/2): inconclusive", "[3/5] draw"]
    tty, log = Tty(), io.StringIO()
    for sink in (tty, log):
        p = _Progress(sink)
        for line in lines:
            p(line)
        p.close()
    assert log.getvalue() == "\n".join(lines) + "\n"
    assert tty.getvalue() == (
        "[2/5] evaluate the claims\n\r      a (1/2): supported\r      bb (2/2): inconclusive\n[3/5] draw\n"
    )
