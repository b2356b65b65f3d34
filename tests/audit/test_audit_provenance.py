"""Provenance of the audit's data: public addresses only, stated values really stated, judgements
with reasons, and the article's words quoted exactly (checked against the article where it is at hand)."""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from pathlib import Path

import pytest

from metaacu import MetaacuInputError
from metaacu.audit import default_data_dir, load_dataset
from metaacu.audit.data import JUDGEMENT_TABLES, SCHEMAS

PUBLIC = re.compile(r"https?://|doi:|PMID|PMC\d")


def test_every_source_is_a_public_address(dataset):
    for name in SCHEMAS:
        frame = getattr(dataset, name)
        for rid, src in zip(frame.iloc[:, 0], frame["source"], strict=True):
            if name == "certainty" and str(src).startswith(("audit judgement", "data/claims.toml")):
                continue  # the audit's own judgement or rule, named as such
            assert PUBLIC.search(str(src)), f"{name}.csv {rid}: source {src!r} is not a public address"


def test_judgements_carry_their_reasons(dataset):
    for name in JUDGEMENT_TABLES:
        frame = getattr(dataset, name)
        text = "reason" if "reason" in frame else "support" if "support" in frame else "reasons"
        if name == "published_certainty":
            continue  # published ratings are stated by their source
        assert frame[text].notna().all(), name
        judged = frame["status"] == "judged"
        assert frame.loc[judged, "derivation"].notna().all(), name


@pytest.mark.parametrize("bad", ["find_string index id 70318431135", "/work/shared/seed/article.txt"])
def test_a_non_public_source_is_refused(tmp_path, bad):
    import shutil

    for f in default_data_dir().glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "studies.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[1][rows[0].index("source")] = bad
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with pytest.raises(MetaacuInputError, match=r"studies.csv, line 2, column 'source'.*not a public address"):
        load_dataset(tmp_path)


def _article() -> Path | None:
    candidates = [
        os.environ.get("METAACU_ARTICLE", ""),
        Path(__file__).resolve().parents[3] / "shared" / "seed" / "article.txt",
    ]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text)


@pytest.mark.skipif(_article() is None, reason="the article text is not in this checkout (set METAACU_ARTICLE)")
def test_article_words_are_quoted_exactly_in_the_named_section(registry):
    text = _norm(_article().read_text(encoding="utf-8"))
    headings = [
        "Acute VS Chronic",
        "Low Back Pain",
        "Back Pain During Pregnancy",
        "How Acupuncture Works",
        "How Many Sessions?",
        "Frequently asked questions",
    ]
    starts = {"(introduction)": 0, **{h: text.find(h) for h in headings}}
    assert all(v >= 0 for v in starts.values())
    order = [*sorted(starts.values()), len(text)]
    for c in registry["claim"]:
        begin = starts[c["section"]]
        end = order[order.index(begin) + 1]
        words = _norm(c["article_words"])
        assert words in text[begin:end], f"{c['id']}: {c['article_words']!r} is not in section {c['section']!r}"


def test_article_words_are_short_quotations(registry):
    for c in registry["claim"]:
        assert 1 <= len(c["article_words"].split()) <= 25, c["id"]
        assert c["statement"] != c["article_words"], c["id"]  # the paraphrase is our own words
