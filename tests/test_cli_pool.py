"""``metaacu pool`` end to end: the user's CSV from the shell, checked against metafor.

Every expected number comes from the metafor fixtures in ``tests/reference/`` (written by the committed
R scripts there, metafor 3.8-1 at tight convergence).  The CSVs in ``tests/data/cli/`` hold the
fixtures' inputs; the first test checks that they still do.  Continuous data: the fixtures hold
metafor's per-study SMD/MD/ROM (``escalc``), not a pooled continuous model, so the pooled numbers of a
continuous file are checked against ``meta_analysis`` of metafor's own ``yi``/``vi`` (the fit that
``tests/reference/test_metafor_rma.py`` validates against ``rma``).
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.cli import build_parser, main
from metaacu.cli.pool import EPILOG

from tolerances import RTOL_15, RTOL_CLOSED, RTOL_ITER, reference

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "cli"
REF = ROOT / "tests" / "reference"


def fixture(name: str) -> dict[str, Any]:
    return reference(name)


def rma_case(dataset: str, method: str, test: str) -> dict[str, Any]:
    return next(
        c["values"]
        for c in fixture("rma")["cases"]
        if (c["dataset"], c["method"], c["test"], c["control"]) == (dataset, method, test, "tight")
    )


def rma_data(dataset: str) -> dict[str, Any]:
    return next(d for d in fixture("rma")["datasets"] if d["name"] == dataset)


def toolkit_a(kind: str, **match: Any) -> dict[str, Any]:
    return next(c for c in fixture("toolkit_a")[kind] if all(c.get(k) == v for k, v in match.items()))


def escalc_case(case_id: str) -> dict[str, Any]:
    return next(c for c in fixture("escalc")["cases"] if c["id"] == case_id)


def pool(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["pool", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    table = pd.read_csv(out / "table.csv")
    studies = table[table.row_type == "study"].astype({"csv_line": int})
    return studies, table[table.row_type == "pooled"].iloc[0], pd.read_csv(out / "pooled.csv").iloc[0]


def close(actual: Any, expected: Any, rtol: float, atol: float = 1e-13) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- the data files
def test_data_files_hold_the_fixture_inputs():
    bcg = toolkit_a("mantel_haenszel", dataset="bcg", measure="OR", correction="metafor", level=0.95)["input"]
    for name, ev1, ev2 in (("bcg_2x2.csv", "events1", "events2"), ("bcg_tpos.csv", "tpos", "cpos")):
        f = pd.read_csv(DATA / name)
        assert f[ev1].tolist() == bcg["events1"] and f["n1"].tolist() == bcg["n1"]
        assert f[ev2].tolist() == bcg["events2"] and f["n2"].tolist() == bcg["n2"]
    sub = toolkit_a("subgroups", name="bcg_REML_z_separate")["input"]
    assert pd.read_csv(DATA / "bcg_tpos.csv")["alloc"].tolist() == sub["groups"]
    for name, dataset in (("magnesium_2x2.csv", "magnesium"), ("zero_cells_2x2.csv", "zero_cells")):
        f, ref = pd.read_csv(DATA / name), toolkit_a("mantel_haenszel", dataset=dataset, measure="OR")["input"]
        assert {c: f[c].tolist() for c in ref} == ref
    cont, ref = pd.read_csv(DATA / "continuous.csv"), escalc_case("SMD_LS_typical")["args"]
    assert {c: cont[c].tolist() for c in ref} == ref
    bcg_yi = rma_data("bcg_logrr")
    f = pd.read_csv(DATA / "bcg_yi_vi.csv")
    assert f["yi"].tolist() == bcg_yi["yi"] and f["vi"].tolist() == bcg_yi["vi"]
    close(pd.read_csv(DATA / "bcg_yi_sei.csv")["sei"] ** 2, bcg_yi["vi"], 1e-15)


# ----------------------------------------------------------------------------- numbers against metafor
@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("DL", "knha"), ("PM", "t"), ("EE", "z"), ("SJ", "adhoc")])
def test_generic_yi_vi_against_metafor_rma(capsys, tmp_path, method, test):
    code, out, _ = pool(
        capsys, DATA / "bcg_yi_vi.csv", "--method", method, "--test", test, "--out", tmp_path, "--no-plots"
    )
    assert code == 0 and "Studies: all 13 used" in out
    ref = rma_case("bcg_logrr", method, test)
    rtol = RTOL_ITER if method in ("REML", "PM") else RTOL_CLOSED
    studies, pooled, stats = tables(tmp_path)
    close(studies["weight"], ref["weights"], rtol)
    close(
        [pooled.estimate, pooled.se, pooled.ci_low, pooled.ci_high],
        [ref[k] for k in ("estimate", "se", "ci_lb", "ci_ub")],
        rtol,
    )
    close(
        [stats.tau2, stats.q, stats.q_pvalue, stats.i2, stats.h2, stats.statistic, stats.pvalue],
        [ref[k] for k in ("tau2", "QE", "QEp", "I2", "H2", "zval", "pval")],
        rtol,
    )
    if method != "EE":
        close([pooled.pi_low, pooled.pi_high], [ref["pi_lb"], ref["pi_ub"]], rtol)
    assert f"estimate = {ref['estimate']:.4f}" in out  # the printed summary shows the same model


def test_yi_with_sei_and_a_2x2_file_give_metafor_bcg(capsys, tmp_path):
    ref = rma_case("bcg_logrr", "REML", "z")
    for name, extra in (("bcg_yi_sei.csv", ()), ("bcg_2x2.csv", ("--measure", "RR"))):
        code, out, _ = pool(capsys, DATA / name, *extra, "--out", tmp_path / name, "--no-plots")
        assert code == 0
        studies, pooled, stats = tables(tmp_path / name)
        close(studies["estimate"], rma_data("bcg_logrr")["yi"], RTOL_CLOSED)
        close([pooled.estimate, pooled.se, stats.tau2], [ref["estimate"], ref["se"], ref["tau2"]], RTOL_ITER)
    assert "Risk ratio: 0.4894" in out and "Measure: Log risk ratio" in out
    assert studies["csv_line"].tolist() == list(range(2, 15))


@pytest.mark.parametrize("method", ["REML", "EE"])
def test_odds_ratios_with_a_zero_cell_against_metafor(capsys, tmp_path, method):
    """Magnesium trials (metafor dat.egger2001): trial 8 has no events in group 1 and gets 1/2 per cell."""
    code, out, _ = pool(
        capsys, DATA / "magnesium_2x2.csv", "--measure", "OR", "--method", method, "--out", tmp_path, "--no-plots"
    )
    assert code == 0
    case = next(c for c in fixture("toolkit_b")["cases"] if c["input"]["name"] == f"magnesium_{method.lower()}")
    studies, pooled, stats = tables(tmp_path)
    close(studies["estimate"], case["input"]["yi"], RTOL_15)
    close(studies["se"] ** 2, case["input"]["vi"], RTOL_15)
    close(
        [pooled.estimate, pooled.se, stats.tau2, stats.q],
        [case["fit"][k] for k in ("estimate", "se", "tau2", "q")],
        RTOL_ITER if method == "REML" else RTOL_CLOSED,
    )
    assert re.search(r"Adjusted studies \(1\):\n  line  9  Trial 08: zero cell: 0\.5 added to every cell", out)
    assert "Study index in the notes = CSV line: 7 = line 9 (Trial 08)" in out


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mantel_haenszel_against_metafor(capsys, tmp_path, measure):
    code, out, _ = pool(capsys, DATA / "bcg_2x2.csv", "--mh", "--measure", measure, "--out", tmp_path, "--no-plots")
    assert code == 0 and "Mantel-Haenszel" in out
    ref = toolkit_a("mantel_haenszel", dataset="bcg", measure=measure, correction="metafor", level=0.95)["output"]
    studies, pooled, stats = tables(tmp_path)
    close(
        [pooled.estimate, pooled.se, pooled.ci_low, pooled.ci_high],
        [ref[k] for k in ("estimate", "se", "ci_low", "ci_high")],
        RTOL_15,
    )
    close([stats.q, stats.i2, stats.statistic], [ref["q"], ref["i2"], ref["statistic"]], RTOL_15)
    close(studies["weight"], ref["weights"], RTOL_15)


def test_mantel_haenszel_and_peto_list_zero_cell_tables(capsys, tmp_path):
    _code, out, _ = pool(capsys, DATA / "zero_cells_2x2.csv", "--mh", "--out", tmp_path / "mh", "--no-plots")
    ref = toolkit_a("mantel_haenszel", dataset="zero_cells", measure="OR", correction="metafor")["output"]
    close(tables(tmp_path / "mh")[1].estimate, ref["estimate"], RTOL_15)
    listed = re.findall(r"^  line (\d)  (Z\d): (.*)$", out, re.M)
    assert [(line, lab) for line, lab, _ in listed] == [("2", "Z1"), ("3", "Z2"), ("4", "Z3")]
    assert "raw counts" in listed[0][2] and "no events in both groups" in listed[2][2]
    assert "Studies: all 6 used" in out
    _code, out, _ = pool(
        capsys, DATA / "bcg_2x2.csv", "--peto", "--level", "0.9", "--out", tmp_path / "peto", "--no-plots"
    )
    ref = toolkit_a("peto", dataset="bcg", level=0.9)["output"]
    _, pooled, stats = tables(tmp_path / "peto")
    close(
        [pooled.estimate, pooled.se, pooled.ci_low, pooled.ci_high, stats.q],
        [ref[k] for k in ("estimate", "se", "ci_low", "ci_high", "q")],
        RTOL_15,
    )
    assert "90% CI" in out


def test_revman_profiles_leave_out_double_zero_tables(capsys, tmp_path):
    code, out, _ = pool(
        capsys, DATA / "zero_cells_2x2.csv", "--mh", "--profile", "revman5", "--out", tmp_path, "--no-plots"
    )
    assert code == 0
    assert re.search(r"Studies: 5 of 6 used; 1 excluded.*\n  line 4  Z3: no events in both groups .*RevMan", out)
    ref = toolkit_a("mantel_haenszel", dataset="zero_cells", measure="OR", correction="revman5")["output"]
    close(tables(tmp_path)[1].estimate, ref["estimate"], RTOL_15)


def test_subgroups_sorted_by_year_against_metafor(capsys, tmp_path):
    """The second example of --help: custom column names, subgroups and --sort year."""
    code, out, _ = pool(
        capsys,
        DATA / "bcg_tpos.csv",
        "--measure",
        "RR",
        "--events1",
        "tpos",
        "--events2",
        "cpos",
        "--label",
        "trial",
        "--subgroup",
        "alloc",
        "--sort",
        "year",
        "--out",
        tmp_path,
        "--no-plots",
    )
    assert code == 0 and "Test for subgroup differences: Q(2) = 1.8614" in out
    ref = toolkit_a("subgroups", name="bcg_REML_z_separate")["output"]
    sub = pd.read_csv(tmp_path / "subgroups.csv").set_index("group")
    for name, g in ref["groups"].items():
        close(
            [sub.loc[name, k] for k in ("estimate", "se", "tau2", "q", "i2")],
            [g[k] for k in ("estimate", "se", "tau2", "q", "i2")],
            RTOL_ITER,
        )
    close(sub["q_between"].iloc[0], ref["q_between"], RTOL_ITER)
    studies = tables(tmp_path)[0]
    data = pd.read_csv(DATA / "bcg_tpos.csv")
    assert list(dict.fromkeys(studies["subgroup"])) == ["random", "alternate", "systematic"]
    for _, g in studies.groupby("subgroup", sort=False):
        years = data["year"].to_numpy()[g["csv_line"].to_numpy() - 2]
        assert (np.diff(years) >= 0).all()
    assert (data["trial"].to_numpy()[studies["csv_line"] - 2] == studies["label"]).all()  # csv_line is the file line


def test_continuous_smd_md_rom_against_metafor_escalc(capsys, tmp_path):
    for measure, case in (("SMD", "SMD_LS_typical"), ("MD", "MD_typical"), ("ROM", "ROM_typical")):
        code, _, _ = pool(
            capsys, DATA / "continuous.csv", "--measure", measure, "--out", tmp_path / measure, "--no-plots"
        )
        assert code == 0
        ref = escalc_case(case)
        studies, pooled, _ = tables(tmp_path / measure)
        close(studies["estimate"], ref["yi"], RTOL_CLOSED)
        close(studies["se"] ** 2, ref["vi"], RTOL_CLOSED)
        fit = metaacu.meta_analysis(ref["yi"], ref["vi"])  # validated against metafor rma in tests/reference
        close([pooled.estimate, pooled.se], [fit.estimate, fit.se], RTOL_ITER)


def test_unusable_rows_are_listed_with_line_and_reason_never_dropped_silently(capsys, tmp_path):
    args = [
        "--measure",
        "SMD",
        "--mean1",
        "m_acu",
        "--sd1",
        "sd_acu",
        "--n1",
        "n_acu",
        "--mean2",
        "m_sham",
        "--sd2",
        "sd_sham",
        "--n2",
        "n_sham",
        "--label",
        "author",
    ]
    code, out, _ = pool(capsys, DATA / "continuous_custom.csv", *args, "--out", tmp_path / "a", "--no-plots")
    assert code == 0
    assert "Studies: 8 of 11 used; 3 excluded (in no result below):" in out
    assert "  line  4  Ito 2004: missing value in column 'sd_acu'" in out
    assert "  line  8  Jones 2006: sd_acu = 0: an SD must be > 0" in out
    assert "  line 11  Khan 2009: n_acu = 1: a group needs at least 2 participants" in out
    summary = (tmp_path / "a" / "summary.txt").read_text(encoding="utf-8")
    assert summary.rstrip().endswith("3 of 11 studies were excluded (listed above with their lines).")
    assert summary in out
    pool(capsys, DATA / "continuous.csv", "--measure", "SMD", "--out", tmp_path / "b", "--no-plots")
    a, b = pd.read_csv(tmp_path / "a" / "table.csv"), pd.read_csv(tmp_path / "b" / "table.csv")
    close(a["estimate"], b["estimate"], 1e-14)  # the usable rows and nothing else
    assert a["csv_line"].dropna().astype(int).tolist() == [2, 3, 5, 6, 7, 9, 10, 12]

    code, out, _ = pool(capsys, DATA / "bcg_yi_vi_unusable.csv", "--out", tmp_path / "c", "--no-plots")
    assert re.findall(r"^  line +(\d+)  ", out, re.M) == ["5", "10", "14", "18"]
    assert "vi = 0: a sampling variance must be > 0" in out and "vi = -0.01" in out
    assert "missing value in column 'yi'" in out and "missing value in column 'vi'" in out
    close(tables(tmp_path / "c")[2].tau2, rma_case("bcg_logrr", "REML", "z")["tau2"], RTOL_ITER)


def test_rows_the_library_refuses_are_listed_too(capsys, monkeypatch):
    """The safety net behind the CLI's own checks: with them switched off, effect_sizes' reasons are listed."""
    import metaacu.cli.pool as pool_module

    monkeypatch.setattr(
        pool_module, "screen_rows", lambda columns, values, *a, **k: [[] for _ in next(iter(values.values()))]
    )
    code, out, _ = pool(
        capsys,
        DATA / "continuous_custom.csv",
        "--measure",
        "MD",
        "--mean1",
        "m_acu",
        "--sd1",
        "sd_acu",
        "--n1",
        "n_acu",
        "--mean2",
        "m_sham",
        "--sd2",
        "sd_sham",
        "--n2",
        "n_sham",
        "--label",
        "author",
    )
    assert code == 0 and "Studies: 8 of 11 used; 3 excluded" in out
    assert "  line  8  Jones 2006: argument 'sd1' must be > 0" in out


def test_sort_orders_rows_and_leaves_the_numbers(capsys, tmp_path):
    pool(capsys, DATA / "bcg_yi_vi.csv", "--out", tmp_path / "none", "--no-plots")
    base = tables(tmp_path / "none")
    for how, column, sign in (
        ("effect", "estimate", 1),
        ("weight", "weight", -1),
        ("label", "label", 1),
        ("year", None, 1),
    ):
        _code, _, _ = pool(capsys, DATA / "bcg_yi_vi.csv", "--sort", how, "--out", tmp_path / how, "--no-plots")
        studies, pooled, _ = tables(tmp_path / how)
        if column == "label":
            assert studies["label"].tolist() == sorted(studies["label"], key=str.casefold)
        elif column is None:
            years = pd.read_csv(DATA / "bcg_yi_vi.csv")["year"].to_numpy()[studies["csv_line"] - 2]
            assert (np.diff(years) >= 0).all()
        else:
            assert (np.diff(sign * studies[column].to_numpy()) >= 0).all()
        close([pooled.estimate, pooled.se], [base[1].estimate, base[1].se], 1e-12)


def test_profiles_set_the_defaults(capsys, tmp_path):
    _code, out, _ = pool(
        capsys, DATA / "continuous.csv", "--measure", "SMD", "--profile", "revman5", "--out", tmp_path, "--no-plots"
    )
    assert "DerSimonian-Laird" in out
    ref = metaacu.effect_sizes("SMD", vtype="RevMan5", **escalc_case("SMD_LS_typical")["args"])
    close(tables(tmp_path)[0]["estimate"], ref.yi, 1e-14)
    _code, out, _ = pool(capsys, DATA / "bcg_yi_vi.csv", "--profile", "cochrane")
    assert "test: Hartung-Knapp-Sidik-Jonkman t" in out
    assert f"estimate = {rma_case('bcg_logrr', 'REML', 'knha')['estimate']:.4f}" in out


# ----------------------------------------------------------------------------- bad files: one line, exit 2
BROKEN = [
    ("broken_not_a_number.csv", ("line 3", "column 'yi'", "'abc' is not a number", "correct the cell")),
    ("broken_missing_column.csv", ("line 1 (header)", "n2 (named n2 or n2i, or give --n2 COLUMN)")),
    ("broken_empty.csv", ("line 1", "the file is empty", "header line")),
    ("broken_latin1.csv", ("line 3", "column 'study'", "not valid utf-8", "--encoding cp1252")),
    ("broken_ragged.csv", ("line 3", "4 cells but the header (line 1) names 3 columns")),
    ("broken_header_only.csv", ("line 1", "no study lines")),
    ("broken_decimal_comma.csv", ("line 2", "column 'yi'", "use a decimal point")),
    ("no_such_file.csv", ("no such file", "check the path")),
]


@pytest.mark.parametrize(("name", "parts"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_bad_file_gets_one_line_and_exit_status_2(capsys, name, parts):
    code, out, err = pool(capsys, DATA / name, "--measure", "SMD")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"metaacu pool: error: {DATA / name}: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)


def test_more_bad_input_gets_one_line(capsys, tmp_path):
    cases = [
        (
            (DATA / "bcg_2x2.csv", "--measure", "RR", "--events1", "tb_cases"),
            "no column 'tb_cases' (given by --events1)",
        ),
        ((DATA / "bcg_2x2.csv", "--measure", "RR", "--subgroup", "region"), "no column 'region' (given by --subgroup)"),
        ((DATA / "bcg_2x2.csv",), "no columns yi and vi (or sei); give --measure"),
        ((DATA / "bcg_2x2.csv", "--mh", "--method", "DL"), "--method and --test do not apply to --mh"),
        ((DATA / "bcg_2x2.csv", "--mh", "--measure", "PETO"), "--mh pools --measure OR or RR or RD"),
        ((DATA / "bcg_yi_vi.csv", "--subgroup", "year", "--test", "knha"), "holds one study"),
        ((DATA / "bcg_yi_vi.csv", "--out", DATA / "bcg_2x2.csv"), "--out"),
    ]
    xlsx = tmp_path / "book.csv"
    xlsx.write_bytes(b"PK\x03\x04 not really a workbook")
    cases.append(((xlsx,), "Excel .xlsx workbook"))
    for args, part in cases:
        code, _out, err = pool(capsys, *args)
        assert code == 2 and err.count("\n") == 1 and part in err and "Traceback" not in err, (args, err)


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(MetaacuInputError, match="is not a number"):
        main(["pool", str(DATA / "broken_not_a_number.csv"), "--debug"])
    with pytest.raises(MetaacuInputError):
        main(["--debug", "pool", str(DATA / "broken_empty.csv")])


def test_every_subcommand_prints_one_line_on_bad_input(capsys, monkeypatch):
    import metaacu.audit

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise MetaacuInputError("claims.toml: line 3, column 'id': duplicate id 'x'; give every claim its own id")

    monkeypatch.setattr(metaacu.audit, "reproduce", refuse)
    monkeypatch.setattr(metaacu.audit, "audit_claims", refuse)
    for argv, prefix in (
        (["reproduce", "--no-notebooks"], "metaacu reproduce: error: claims.toml"),
        (["claims"], "metaacu claims: error: claims.toml"),
        (["demo", "--method", "XX"], "metaacu demo: error: argument 'method' must be one of"),
    ):
        assert main(argv) == 2
        _out, err = capsys.readouterr()
        assert err.startswith(prefix) and err.count("\n") == 1 and "Traceback" not in err, err


def test_semicolon_files_and_byte_order_marks_are_read(capsys, tmp_path):
    text = (DATA / "bcg_yi_vi.csv").read_text(encoding="utf-8")
    semi = tmp_path / "semi.csv"
    semi.write_text(text.replace(",", ";"), encoding="utf-8")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    for path in (semi, bom):
        code, out, _ = pool(capsys, path)
        assert code == 0 and "labels from 'study'" in out and "estimate = -0.7145" in out
    assert "Read as semicolon-separated" in pool(capsys, semi)[1]


# ----------------------------------------------------------------------------- help, version, plots
def _pool_parser():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices["pool"]


def test_help_documents_every_option_with_its_choices_and_ends_with_two_examples(capsys):
    parser = _pool_parser()
    text = parser.format_help()
    for action in parser._actions:
        assert action.help, action.option_strings
        for choice in action.choices or ():
            assert str(choice) in action.help % {
                "choices": ", ".join(map(str, action.choices)),
                "default": action.default,
            }
    for option in (
        "--method",
        "--test",
        "--profile",
        "--level",
        "--subgroup",
        "--label",
        "--sort",
        "--out",
        "--debug",
        "--mh",
        "--peto",
        "--measure",
        "--mean1",
        "--sei",
    ):
        assert option in text
    assert main(["pool", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(EPILOG.rstrip())
    assert len(re.findall(r"^  metaacu pool ", out, re.M)) == 2
    for method in ("REML", "DL", "PM", "EE"):
        assert method in out


def test_the_help_examples_run(capsys, tmp_path):
    commands = re.findall(r"^  (metaacu pool .*?)(?<!\\)$", EPILOG.replace("\\\n", " "), re.M)
    assert len(commands) == 2
    files = {"trials.csv": DATA / "continuous.csv", "bcg.csv": DATA / "bcg_tpos.csv"}
    for i, command in enumerate(commands):
        argv = [str(files.get(a, a)) for a in shlex.split(command)[1:]]
        argv[argv.index("--out") + 1] = str(tmp_path / str(i))
        assert main([*argv, "--no-plots"]) == 0, command
        assert (tmp_path / str(i) / "table.csv").exists()
    capsys.readouterr()


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"metaacu {metaacu.__version__}"


def test_subprocess_writes_tables_summary_and_plots(tmp_path):
    """A real shell run: ``python -m metaacu pool`` with subgroups, every file written and non-empty."""
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "metaacu",
        "pool",
        str(DATA / "bcg_tpos.csv"),
        "--measure",
        "RR",
        "--events1",
        "tpos",
        "--events2",
        "cpos",
        "--subgroup",
        "alloc",
        "--out",
        str(out),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={"MPLBACKEND": "Agg", "PATH": ""})
    assert run.returncode == 0, run.stderr
    assert "Test for subgroup differences" in run.stdout and "Wrote into" in run.stdout
    magic = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}
    for plot in ("forest", "funnel"):
        for ext, head in magic.items():
            path = out / f"{plot}{ext}"
            assert path.stat().st_size > 1000 and path.read_bytes().startswith(head), path
    for name in ("table.csv", "pooled.csv", "subgroups.csv", "summary.txt"):
        assert (out / name).stat().st_size > 0
    assert (out / "summary.txt").read_text(encoding="utf-8").strip() in run.stdout
    bad = subprocess.run([*cmd[:4], str(DATA / "broken_empty.csv")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stdout == ""


def test_mantel_haenszel_plots_are_written_or_skipped_with_a_note(capsys, tmp_path):
    """Documents the current state: forest/funnel plots of MH results are written where the plots can
    draw a BinaryPooled result; where one cannot, the table and summary are written and a note says so."""
    import matplotlib.pyplot as plt

    from metaacu.plots import forest_plot, funnel_plot

    res = metaacu.mantel_haenszel([4, 6], [123, 306], [11, 29], [139, 303])
    can = {}
    for name, draw in (("forest", forest_plot), ("funnel", funnel_plot)):
        try:
            plt.close(draw(res).figure)
            can[name] = True
        except (AttributeError, TypeError, KeyError, ValueError, NotImplementedError):
            can[name] = False
    code, out, _ = pool(capsys, DATA / "bcg_2x2.csv", "--mh", "--out", tmp_path)
    assert code == 0 and (tmp_path / "table.csv").exists() and (tmp_path / "summary.txt").exists()
    for name, ok in can.items():
        assert (tmp_path / f"{name}.png").exists() == ok
        assert (f"Note: no {name} plot" in out) != ok


def test_a_plot_that_cannot_draw_a_binary_result_is_skipped_with_a_note(capsys, tmp_path, monkeypatch):
    """Where the plots cannot draw a Mantel-Haenszel/Peto result (BinaryPooled without ``summary_frame``,
    as before the plots learnt it), the table and summary are still written and a note says why."""
    import metaacu.plots

    def cannot(result: Any, **kwargs: Any) -> None:
        raise AttributeError("'BinaryPooled' object has no attribute 'summary_frame'")

    monkeypatch.setattr(metaacu.plots, "forest_plot", cannot)
    monkeypatch.setattr(metaacu.plots, "funnel_plot", cannot)
    code, out, _ = pool(capsys, DATA / "bcg_2x2.csv", "--peto", "--out", tmp_path)
    assert code == 0
    assert "Note: no forest plot: this version of metaacu cannot draw one for a Peto result" in out
    assert "Note: no funnel plot" in out and "the table and summary are written" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pooled.csv", "summary.txt", "table.csv"]
    monkeypatch.undo()
    with pytest.raises(AttributeError):  # a plot failure on an inverse-variance model is a bug: not hidden
        monkeypatch.setattr(metaacu.plots, "forest_plot", cannot)
        main(["pool", str(DATA / "bcg_yi_vi.csv"), "--out", str(tmp_path / "iv")])


def test_pool_never_imports_the_audit():
    """The pool command sits on the library and plots only (the layering test allows the audit in cli)."""
    for module in ("pool", "userdata"):
        tree = ast.parse((ROOT / "src" / "metaacu" / "cli" / f"{module}.py").read_text(encoding="utf-8"))
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if "audit" in n], module
