"""``metaacu pool FILE.csv``: a meta-analysis of the user's own CSV file from the shell.

Columns are found by conventional names (``mean1 sd1 n1 mean2 sd2 n2``, ``events1 n1 events2 n2``,
``yi vi`` or ``yi sei``, ``study``/``label``), each overridable by an option.  A study that cannot be
used is listed with its CSV line and the reason, never dropped silently; a file that cannot be read
raises one :class:`metaacu.MetaacuInputError` naming file, line, column and fix.  The numbers are
those of the library calls (``effect_sizes`` with ``meta_analysis`` or ``subgroup_analysis``,
``mantel_haenszel``, ``peto``), which are validated against metafor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import metaacu
from metaacu import MetaacuInputError
from metaacu.pooling import TESTS
from metaacu.profiles import PROFILES
from metaacu.tau2 import TAU2_METHODS

from .pool_fit import Plan, fit_model, report_text, row_failures, sort_key
from .userdata import BINARY, CONTINUOUS, CsvTable, read_csv, screen_rows, write_outputs

if TYPE_CHECKING:
    from metaacu.binary import BinaryPooled
    from metaacu.results import MetaAnalysis
    from metaacu.subgroups import SubgroupAnalysis

    #: The fits of ``metaacu pool``: the (overall) model, the subgroup analysis or None, the adjusted rows.
    Fit = tuple[MetaAnalysis | BinaryPooled, SubgroupAnalysis | None, dict[int, str]]

__all__ = ["COLUMN_NAMES", "MEASURES", "SORTS", "add_parser", "run"]

#: Codes of ``--measure``: summary-data measures, and ``GEN`` for precomputed ``yi`` with ``vi``/``sei``.
MEASURES = ("SMD", "SMDH", "MD", "ROM", "RR", "OR", "RD", "PETO", "GEN")
#: Study orders of ``--sort``.
SORTS = ("none", "effect", "year", "weight", "label")
#: Conventional column names of each role, searched in this order (exact, then ignoring case).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "mean1": ("mean1", "m1i"),
    "sd1": ("sd1", "sd1i"),
    "n1": ("n1", "n1i"),
    "mean2": ("mean2", "m2i"),
    "sd2": ("sd2", "sd2i"),
    "n2": ("n2", "n2i"),
    "events1": ("events1", "ai"),
    "events2": ("events2", "ci"),
    "yi": ("yi",),
    "vi": ("vi",),
    "sei": ("sei", "se"),
    "year": ("year",),
    "label": ("study", "label", "trial", "studlab"),
}
_ROLE_HELP = {
    "mean1": "mean in group 1 (experimental)",
    "sd1": "SD in group 1",
    "n1": "participants in group 1",
    "mean2": "mean in group 2 (control)",
    "sd2": "SD in group 2",
    "n2": "participants in group 2",
    "events1": "participants with the event in group 1",
    "events2": "participants with the event in group 2",
    "yi": "precomputed effect size",
    "vi": "its sampling variance",
    "sei": "its standard error (instead of vi)",
    "year": "year of each study, for --sort year (without it: a four-digit year in the label)",
}
EPILOG = """\
examples:
  # Hedges' g from arm means and SDs (columns mean1 sd1 n1 mean2 sd2 n2), Cochrane conventions
  # (REML with Hartung-Knapp-Sidik-Jonkman), table, summary and plots written into out/
  metaacu pool trials.csv --measure SMD --profile cochrane --out out/

  # risk ratios from 2x2 counts whose columns are named tpos/cpos, one pooled estimate per
  # allocation method and a test for subgroup differences, studies sorted by year
  metaacu pool bcg.csv --measure RR --events1 tpos --events2 cpos --label trial \\
      --subgroup alloc --sort year --out out/
"""


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give e.g. 0.95") from None
    if not 0.0 < value < 1.0:
        hint = f" (give {value / 100:g}, not {text})" if 1.0 < value < 100.0 else ""
        raise argparse.ArgumentTypeError(f"{text} must be a fraction between 0 and 1{hint}")
    return value


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> argparse.ArgumentParser:
    """Add the ``pool`` subcommand to the subparsers ``sub`` of the ``metaacu`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    parents : list of ArgumentParser
        Parsers whose options every subcommand shares (``--debug``).

    Returns
    -------
    argparse.ArgumentParser
        The ``pool`` parser; its ``func`` default is :func:`run`.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="metaacu")
    >>> pool = add_parser(parser.add_subparsers(), [])
    >>> pool.parse_args(["trials.csv", "--measure", "RR", "--mh"]).mh
    True
    """
    p = sub.add_parser(
        "pool",
        parents=parents,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
        help="meta-analysis of your own CSV file (one line per study)",
        description="Pool the studies of a CSV file (a header line, then one line per study) and print a\n"
        "metafor-like summary; with --out also write the tidy table, the summary and forest and\n"
        "funnel plots. Studies that cannot be used are listed with their line and the reason.",
    )
    p.add_argument("file", metavar="FILE.csv", help="the CSV file (UTF-8, comma-separated; ';' or tab also read)")
    p.add_argument(
        "--measure",
        choices=MEASURES,
        metavar="MEASURE",
        help="effect measure, one of: %(choices)s. SMD, SMDH, MD and ROM need mean1 sd1 n1 mean2 sd2 "
        "n2; RR, OR, RD and PETO need events1 n1 events2 n2; GEN (the default) pools columns yi "
        "and vi (or sei) as given. With yi/vi columns and no summary-data columns, another "
        "measure reads yi on its pooling scale (e.g. log RR for RR)",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--mh",
        action="store_true",
        help="Mantel-Haenszel common-effect method for 2x2 data (--measure OR, RR or RD; default OR)",
    )
    how.add_argument("--peto", action="store_true", help="Peto's one-step odds ratio for 2x2 data")
    p.add_argument(
        "--method",
        choices=TAU2_METHODS,
        metavar="METHOD",
        help="tau^2 estimator, one of: %(choices)s (EE = common effect); default from --profile "
        "(REML for metafor and cochrane, DL for revman5)",
    )
    p.add_argument(
        "--test",
        choices=TESTS,
        metavar="TEST",
        help="test and CI of the pooled effect, one of: %(choices)s (knha = Hartung-Knapp-Sidik-"
        "Jonkman, adhoc = HKSJ but never narrower than z); default from --profile",
    )
    p.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="metafor",
        metavar="PROFILE",
        help="conventions of a tool, one of: %(choices)s (default %(default)s); revman5 also uses "
        "RevMan's approximate Hedges' g; revman5 and cochrane leave out studies without events "
        "in both groups for RR, OR and PETO, as RevMan does",
    )
    p.add_argument(
        "--level",
        type=_fraction,
        default=0.95,
        help="confidence level, a fraction between 0 and 1 (default %(default)s)",
    )
    p.add_argument(
        "--subgroup",
        metavar="COLUMN",
        help="column with the subgroup of each study: pool each "
        "subgroup (its own tau^2) and test for subgroup differences",
    )
    p.add_argument(
        "--label",
        metavar="COLUMN",
        help=f"column with the study labels (default: {' or '.join(COLUMN_NAMES['label'])})",
    )
    p.add_argument(
        "--sort",
        choices=SORTS,
        default="none",
        metavar="ORDER",
        help="order of the studies in the table and the forest plot, one of: %(choices)s (default "
        "%(default)s = file order; effect ascending, weight largest first; within subgroups)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="write table.csv, pooled.csv, summary.txt and the forest and funnel plots (PNG, SVG, "
        "PDF) into this folder (made if missing)",
    )
    p.add_argument("--no-plots", action="store_true", help="with --out: write the tables and the summary only")
    p.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of the file (default %(default)s; e.g. cp1252 for older Excel files)",
    )
    cols = p.add_argument_group("column names (each option overrides the conventional names shown)")
    for role, text in _ROLE_HELP.items():
        cols.add_argument(f"--{role}", metavar="COLUMN", help=f"{text} (default: {' or '.join(COLUMN_NAMES[role])})")
    p.set_defaults(func=run)
    return p


# ----------------------------------------------------------------------------- which columns, which model
def _column(table: CsvTable, role: str, given: str | None) -> str | None:
    if given is None:
        return table.find(COLUMN_NAMES[role])
    if given not in table.header:
        raise table.no_column(given, f"--{role}")
    return given


def _need(table: CsvTable, roles: tuple[str, ...], found: dict[str, str | None], what: str) -> dict[str, str]:
    missing = [r for r in roles if found[r] is None]
    if missing:
        names = "; ".join(f"{r} (named {' or '.join(COLUMN_NAMES[r])}, or give --{r} COLUMN)" for r in missing)
        raise MetaacuInputError(
            f"{table.path}: line {table.header_line} (header): {what} needs a column for "
            f"{names}; the columns are {', '.join(table.header)}"
        )
    return {r: str(found[r]) for r in roles}


def _plan(table: CsvTable, args: argparse.Namespace) -> Plan:
    found = {r: _column(table, r, getattr(args, r)) for r in COLUMN_NAMES}
    measure = args.measure
    if args.mh or args.peto:
        how = "--mh" if args.mh else "--peto"
        if args.method is not None or args.test is not None:
            raise MetaacuInputError(
                f"--method and --test do not apply to {how} (a common-effect method with a Wald z test); leave them out"
            )
        if args.subgroup is not None:
            raise MetaacuInputError(
                f"--subgroup is not available with {how}; leave out {how} for an inverse-variance subgroup analysis"
            )
        allowed = ("OR", "RR", "RD") if args.mh else ("PETO", "OR")
        measure = measure or allowed[0]
        if measure not in allowed:
            raise MetaacuInputError(f"{how} pools --measure {' or '.join(allowed)}, not {measure}")
        plan = Plan(
            "mh" if args.mh else "peto",
            "PETO" if args.peto else measure,
            _need(table, BINARY, found, f"{how} (2x2 data)"),
        )
    else:
        roles = CONTINUOUS if measure in ("SMD", "SMDH", "MD", "ROM") else BINARY if measure else ()
        has_yi = found["yi"] is not None and (found["vi"] is not None or found["sei"] is not None)
        if measure in (None, "GEN") or (has_yi and not any(found[r] for r in roles)):
            if not has_yi:
                raise MetaacuInputError(
                    f"{table.path}: line {table.header_line} (header): no columns yi and vi (or sei); give "
                    f"--measure ({', '.join(MEASURES[:-1])}) for summary data, or name them with --yi and --vi"
                )
            var = "vi" if found["vi"] is not None and args.sei is None else "sei"
            plan = Plan("effects", measure or "GEN", {"yi": str(found["yi"]), var: str(found[var])})
            if measure not in (None, "GEN"):
                plan.notes.append(
                    f"yi and {var} are read as {metaacu.measure_info(measure).name} (the pooling "
                    "scale): the file has no summary-data columns for this measure"
                )
        else:
            plan = Plan("summary", measure, _need(table, roles, found, f"--measure {measure}"))
    plan.label, plan.year = found["label"], found["year"]
    if args.subgroup is not None:
        if args.subgroup not in table.header:
            raise table.no_column(args.subgroup, "--subgroup")
        plan.subgroup = args.subgroup
    return plan


def run(args: argparse.Namespace) -> int:
    """Run ``metaacu pool`` with parsed arguments (see ``metaacu pool --help``).

    Parameters
    ----------
    args : argparse.Namespace
        As parsed by the ``pool`` parser of :func:`metaacu.cli.build_parser`.

    Returns
    -------
    int
        0 on success.

    Raises
    ------
    MetaacuInputError
        A file that cannot be read, a missing column, options that contradict each other, or no usable
        study; :func:`metaacu.cli.main` prints the message on one line and exits with status 2.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from metaacu.cli import build_parser
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trials.csv"
    >>> _ = path.write_text("study,yi,vi\\nA 2001,0.1,0.02\\nB 2004,0.3,0.03\\nC 2009,,0.01\\n", encoding="utf-8")
    >>> run(build_parser().parse_args(["pool", str(path), "--method", "DL"]))  # doctest: +ELLIPSIS
    metaacu pool .../trials.csv
    Columns: yi = 'yi', vi = 'vi'; labels from 'study'
    Studies: 2 of 3 used; 1 excluded (in no result below):
      line 4  C 2009: missing value in column 'yi'
    ...
    estimate = 0.1800  se = 0.1095  z = 1.6432  p = 0.1003
    ...
    0
    """
    table = read_csv(args.file, encoding=args.encoding)
    plan = _plan(table, args)
    values = {r: table.numbers(c) for r, c in plan.columns.items()}
    labels = [
        s or f"line {n}"
        for s, n in zip(table.text(plan.label) if plan.label else [""] * table.n_rows, table.lines, strict=True)
    ]
    groups = table.text(plan.subgroup) if plan.subgroup else None
    rule = "revman" if args.profile != "metafor" and plan.measure in ("RR", "OR", "PETO") else "metafor"
    reasons = screen_rows(plan.columns, values, plan.mode, plan.measure, double_zero=rule)
    if groups is not None:
        for i in (i for i, g in enumerate(groups) if not g):
            reasons[i].append(f"missing subgroup in column {plan.subgroup!r}")
    while True:  # the library's own checks as a safety net: rows it refuses are listed too
        used = [i for i in range(table.n_rows) if not reasons[i]]
        if not used:
            raise MetaacuInputError(
                f"{table.path}: no usable study: every study line has a problem (line "
                f"{table.lines[0]}: {'; '.join(reasons[0])}); correct the file"
            )
        failed = (
            row_failures(plan.measure, {r: a[used] for r, a in values.items()}, PROFILES[args.profile].smd_vtype)
            if plan.mode == "summary"
            else {}
        )
        if not failed:
            break
        for j, why in failed.items():
            reasons[used[j]].append(why)

    def fit(rows: list[int]) -> Fit:
        return fit_model(
            plan,
            args,
            {r: a[rows] for r, a in values.items()},
            [labels[i] for i in rows],
            None if groups is None else [groups[i] for i in rows],
        )

    res, sub, adjusted = fit(used)
    if args.sort != "none":
        year = table.numbers(plan.year)[used] if plan.year and args.sort == "year" else None
        key = sort_key(args.sort, res, [labels[i] for i in used], year)
        rank = {g: j for j, g in enumerate(dict.fromkeys(groups[i] for i in used))} if groups else {}
        order = sorted(range(len(used)), key=lambda j: (rank.get(groups[used[j]], 0) if groups else 0, key[j]))
        if args.sort == "year" and np.isinf(key).any():
            plan.notes.append(f"--sort year: {int(np.isinf(key).sum())} studies without a year are shown last")
        if order != list(range(len(used))):
            used = [used[j] for j in order]
            res, sub, adjusted = fit(used)
    text = report_text(table, plan, reasons, used, labels, adjusted, res, sub)
    print(text)
    if args.out is not None:
        print(
            "\n".join(
                write_outputs(
                    args.out,
                    text,
                    res,
                    sub,
                    [table.lines[i] for i in used],
                    None if groups is None else [groups[i] for i in used],
                    plots=not args.no_plots,
                )
            )
        )
    sys.stdout.flush()
    return 0
