"""Command line: ``metaacu reproduce``, ``metaacu claims``, ``metaacu demo``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


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


def _reproduce(args: argparse.Namespace) -> int:
    from metaacu.audit import reproduce

    reproduce(args.out, notebooks=not args.no_notebooks)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``metaacu`` command."""
    p = argparse.ArgumentParser(prog="metaacu", description="Meta-analysis and the acupuncture claims audit")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="run every analysis from the bundled data into a folder")
    r.add_argument("--out", default="results")
    r.add_argument("--no-notebooks", action="store_true", help="skip executing the notebooks")
    r.set_defaults(func=_reproduce)
    c = sub.add_parser("claims", help="print the verdict table")
    c.set_defaults(func=_claims)
    d = sub.add_parser("demo", help="pool the BCG vaccine trials (teaching dataset)")
    d.add_argument("--method", default="REML")
    d.add_argument("--out", default=None, help="write the forest-ready table to this CSV")
    d.set_defaults(func=_demo)
    args = p.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
