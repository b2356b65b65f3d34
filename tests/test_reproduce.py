"""End to end: the reproduce command, the report, determinism, and notebook execution."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from metaacu.audit import reproduce
from metaacu.audit.notebooks import execute_notebook, notebook_sources
from metaacu.cli import main


@pytest.fixture(scope="module")
def run_twice(tmp_path_factory):
    """Two runs without notebooks: into a new folder, and over a folder left by an earlier run."""
    a = reproduce(tmp_path_factory.mktemp("a") / "results", notebooks=False, progress=lambda s: None)
    b = tmp_path_factory.mktemp("b") / "results"
    (b / "notebooks").mkdir(parents=True)
    (b / "notebooks" / "01_chronic_pain.ipynb").write_text("{}", encoding="utf-8")  # executed earlier
    for name in ("claims.csv", "claims.md", "reproduction.csv", "report.html", "stale.txt"):
        (b / name).write_text("from an earlier run", encoding="utf-8")
    lines: list[str] = []
    reproduce(b, notebooks=False, progress=lines.append)
    return a, b, lines


def test_outputs_exist_for_every_claim(run_twice):
    out = run_twice[0]
    claims = pd.read_csv(out / "claims.csv")
    assert (out / "claims.md").exists() and (out / "reproduction.csv").exists()
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    numeric = claims[claims["estimate"].notna()]
    assert set(numeric["id"]) <= figures
    for cid in figures:
        assert (out / "figures" / f"{cid}.svg").exists()


def test_two_runs_give_identical_files(run_twice):
    """Every file, MANIFEST.json included, is byte-identical; nothing of the earlier run survives."""
    a, b, _ = run_twice
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*"))
    assert files == sorted(p.relative_to(b).as_posix() for p in b.rglob("*"))
    assert {"claims.csv", "claims.md", "reproduction.csv", "report.html", "MANIFEST.json"} <= set(files)
    assert "stale.txt" not in files and not any(f.startswith("notebooks") for f in files)
    for name in files:
        if (a / name).is_file():
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_no_notebooks_is_recorded_and_said(run_twice):
    import json

    from metaacu.audit.reproduce import verify_results

    _, b, lines = run_twice
    manifest = json.loads((b / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and not manifest["complete_without_skips"]
    assert manifest["steps"][-1]["status"] == "skipped" and "--no-notebooks" in manifest["skipped"][0]
    assert any(line.startswith("NOTE: SKIPPED") and "--no-notebooks" in line for line in lines)
    assert verify_results(b) == []


def test_claim_figures_draw_only_rows_on_the_claims_measure():
    import matplotlib.pyplot as plt

    from metaacu.audit.claims import evaluate_claim
    from metaacu.audit.figures import claim_figure

    r = evaluate_claim("pregnancy_pain_relief")
    fp = claim_figure(r)
    drawn = set(fp.rows["label"])
    for _, ev in r.evidence.iterrows():
        assert (ev["label"] in drawn) == (ev["measure"] == "RR"), ev["label"]
    assert len(fp.extra_diamonds) == 0  # the only non-pooled row (Yang 2022) is a mean difference
    plt.close(fp.figure)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.hrefs, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if "id" in d:
            self.ids.add(d["id"])
        if tag == "img":
            self.imgs.append(d.get("src", ""))
        if tag == "a" and "href" in d:
            self.hrefs.append(d["href"])


def test_report_has_no_broken_links_or_images(run_twice):
    out = run_twice[0]
    p = _Collector()
    p.feed((out / "report.html").read_text(encoding="utf-8"))
    assert p.imgs and all(src.startswith("data:image/png;base64,") and len(src) > 1000 for src in p.imgs)
    for href in p.hrefs:
        assert href.startswith("#") and href[1:] in p.ids, href


def test_report_verdicts_equal_recomputed(run_twice):
    from metaacu.audit.claims import audit_claims

    out = run_twice[0]
    table = pd.read_csv(out / "claims.csv").set_index("id")["verdict"].to_dict()
    assert table == {r.id: r.verdict for r in audit_claims()}
    html = (out / "report.html").read_text(encoding="utf-8")
    for cid, verdict in table.items():
        assert re.search(rf"id='{cid}'>{cid}: <span class='v {verdict}'>", html), cid


def test_cli_claims_and_demo(capsys, tmp_path):
    assert main(["claims"]) == 0
    out = capsys.readouterr().out
    assert "## Summary of findings" in out and re.search(
        r"\| cost_arithmetic \| [^|]+ \| article \| \*\*consistent\*\* \|", out
    )
    assert main(["demo", "--out", str(tmp_path / "bcg.csv")]) == 0
    out = capsys.readouterr().out
    assert "estimate = -0.7145" in out  # Viechtbauer 2010, J Stat Softw 36(3), BCG REML model
    assert len(pd.read_csv(tmp_path / "bcg.csv")) == 14


@pytest.mark.slow
@pytest.mark.parametrize("source", notebook_sources(), ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(source):
    execute_notebook(source)


@pytest.mark.parametrize("source", notebook_sources(), ids=lambda p: p.stem)
def test_notebook_pair_is_in_sync_and_has_no_outputs(source):
    """Each py:percent source has an .ipynb twin with the same cells and no stored outputs."""
    import jupytext
    import nbformat

    ipynb = source.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `jupytext --sync {source.name}`"
    a, b = jupytext.read(source), nbformat.read(ipynb, as_version=4)
    assert [c.source for c in a.cells] == [c.source for c in b.cells]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in b.cells if c.cell_type == "code")


def test_arithmetic_claim_figure_shows_every_total():
    import matplotlib.pyplot as plt
    import numpy as np

    from metaacu.audit.claims import evaluate_claim
    from metaacu.audit.figures import claim_figure

    r = evaluate_claim("cost_arithmetic")
    fp = claim_figure(r)
    stated = fp.ax.collections[0].get_offsets()[:, 0]
    np.testing.assert_array_equal(stated, r.evidence["stated"].to_numpy())
    assert fp.n == len(r.evidence) == len(fp.ax.get_yticklabels())
    fp.figure.canvas.draw()
    fig_box = fp.figure.bbox
    for t in fp.ax.get_yticklabels():  # no label is clipped by the figure edge
        assert t.get_window_extent().x0 >= fig_box.x0
    plt.close(fp.figure)
