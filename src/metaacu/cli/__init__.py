"""Command line: ``metaacu pool``, ``metaacu reproduce``, ``metaacu claims``, ``metaacu demo``.

A :class:`metaacu.MetaacuInputError` from any subcommand is printed as one line on stderr and ends
the command with exit status 2; a failed step of ``reproduce`` (:class:`metaacu.audit.reproduce.ReproduceError`)
ends it with exit status 1.  ``--debug`` shows the traceback instead.  The audit
(:mod:`metaacu.audit`) is imported only by ``reproduce`` and ``claims``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["build_parser", "main"]


def _demo(args: argparse.Namespace) -> int:
    import metaacu
    from metaacu.datasets import bcg

    es = metaacu.effect_sizes("RR", data=bcg(), labels="trial", events1="tpos", n1="n1", events2="cpos", n2="n2")
    res = metaacu.meta_analysis(es, method=args.method)
    print(res.summary())
    if args.out:
        res.to_frame().to_csv(args.out, index=False)
        print(f"forest-ready table written to {args.out}")
    return 0


def _claims(args: argparse.Namespace) -> int:
    from metaacu.audit import audit_claims
    from metaacu.audit.report import verdict_table_markdown

    print(verdict_table_markdown(audit_claims()))
    return 0


class _Progress:
    """Progress lines of ``reproduce``: item lines (indented) overwrite each other in a terminal, so each
    step shows one updating line; in a log (not a terminal) every line is kept."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.pending = 0

    def __call__(self, line: str) -> None:
        item = line.startswith("      ")
        if self.tty and item:
            self.stream.write("\r" + line + " " * max(0, self.pending - len(line)))
            self.pending = len(line)
        else:
            if self.pending:
                self.stream.write("\n")
                self.pending = 0
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.pending:
            self.stream.write("\n")
            self.pending = 0


def _reproduce(args: argparse.Namespace) -> int:
    from metaacu.audit import reproduce
    from metaacu.audit.reproduce import ReproduceError

    progress = _Progress()
    try:
        reproduce(args.out, notebooks=not args.no_notebooks, progress=progress)
    except ReproduceError as exc:  # a failed step: one line, exit 1 (the output folder is unchanged)
        if args.debug:
            raise
        progress.close()
        print(f"metaacu reproduce: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``metaacu`` argument parser with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
        Each subcommand's parser sets ``func`` (called with the parsed arguments) and ``command``.

    Examples
    --------
    >>> args = build_parser().parse_args(["pool", "trials.csv", "--measure", "SMD"])
    >>> args.command, args.measure, args.profile
    ('pool', 'SMD', 'metafor')
    """
    import metaacu
    from metaacu.tau2 import TAU2_METHODS

    from .pool import add_parser

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of an error instead of one line",
    )
    p = argparse.ArgumentParser(
        prog="metaacu", description="Meta-analysis that agrees with metafor, and the acupuncture claims audit."
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"metaacu {metaacu.__version__}",
        help="print the version of metaacu and exit",
    )
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error instead of one line")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_parser(sub, [common])
    r = sub.add_parser("reproduce", parents=[common], help="run every analysis from the bundled data into a folder")
    r.add_argument("--out", default="results", help="output folder (default %(default)s)")
    r.add_argument(
        "--no-notebooks",
        action="store_true",
        help="skip executing the notebooks (recorded in MANIFEST.json; no notebooks/ is written)",
    )
    r.set_defaults(func=_reproduce)
    c = sub.add_parser("claims", parents=[common], help="print the verdict table")
    c.set_defaults(func=_claims)
    d = sub.add_parser("demo", parents=[common], help="pool the BCG vaccine trials (teaching dataset)")
    d.add_argument(
        "--method", default="REML", help=f"tau^2 estimator, one of: {', '.join(TAU2_METHODS)} (default %(default)s)"
    )
    d.add_argument("--out", default=None, help="write the forest-ready table to this CSV")
    d.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``metaacu`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a usage error or a :class:`metaacu.MetaacuInputError`
        (printed as one line on stderr, or raised with ``--debug``).

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    metaacu ...
    0
    """
    from metaacu import MetaacuInputError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors (argparse printed the message)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return int(args.func(args))
    except MetaacuInputError as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split())
        print(f"metaacu {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `metaacu pool x.csv | head`: stop quietly, as other shell tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
