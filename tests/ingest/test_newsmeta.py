"""News metadata: dates normalised to ISO 8601 from every reader, source/author/url."""
import datetime as dt

import pytest

from assistant.ingest.load import load_corpus
from assistant.ingest.newsmeta import date_interval, normalize_date, normalize_metadata, safe_url


@pytest.mark.parametrize("value, iso", [
    ("2021-03-26", "2021-03-26"),
    ("2021-03-26T09:30:00+09:00", "2021-03-26"),
    ("2021-3-5", "2021-03-05"),
    ("2021-03", "2021-03"),
    ("2021", "2021"),
    (dt.date(2020, 3, 12), "2020-03-12"),
    (dt.datetime(2020, 3, 12, 23, 59), "2020-03-12"),
    ("March 12, 2020", "2020-03-12"),
    ("12 Mar 2020", "2020-03-12"),
    ("Thu, 12 Mar 2020 10:00:00 GMT", "2020-03-12"),
    ("2021-02-30", None),
    ("not a date", None),
    ("", None),
])
def test_normalize_date(value, iso):
    assert normalize_date(value) == iso


def test_date_interval_keeps_precision():
    assert date_interval("2021-03-26") == (dt.date(2021, 3, 26), dt.date(2021, 3, 26))
    assert date_interval("2021-02") == (dt.date(2021, 2, 1), dt.date(2021, 2, 28))
    assert date_interval("2020-12") == (dt.date(2020, 12, 1), dt.date(2020, 12, 31))
    assert date_interval("2022") == (dt.date(2022, 1, 1), dt.date(2022, 12, 31))
    assert date_interval(None) is None


def test_normalize_metadata_canonical_keys_and_nested_beir_metadata():
    meta = normalize_metadata({"metadata": {"publish_date": "March 2, 2026", "publisher": "Wire", "authors": ["A", "B"]},
                               "link": "https://x.org/a"})
    assert meta["date"] == "2026-03-02" and meta["source"] == "Wire"
    assert meta["author"] == "A, B" and meta["url"] == "https://x.org/a"
    # an unreadable date is not claimed as a date
    assert "date" not in normalize_metadata({"date": "sometime"})
    assert normalize_metadata({"date": "sometime"})["date_text"] == "sometime"


def test_beir_metadata_object_and_date_field(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"_id": "a", "text": "Some text here.", "metadata": {"date": "2024-05-06", "source": "Wire"}}\n'
                 '{"_id": "b", "text": "Other text.", "date": "2024-05-07"}\n', encoding="utf-8")
    docs = {a.doc_id: a for a in load_corpus(p).articles}
    assert docs["a"].metadata["date"] == "2024-05-06" and docs["a"].metadata["source"] == "Wire"
    assert docs["b"].metadata["date"] == "2024-05-07"


def test_html_sitename_becomes_source(tmp_path):
    (tmp_path / "p.html").write_text(
        '<html><head><title>Ferry sinks</title><meta property="og:site_name" content="Harbour Times">'
        '<meta name="author" content="Kim Lee"><meta property="article:published_time" content="2025-06-01T08:00:00Z">'
        '</head><body><article><p>' + "The ferry sank near the harbour on Sunday morning. " * 8 + '</p></article></body></html>',
        encoding="utf-8")
    a = load_corpus(tmp_path).articles[0]
    assert a.metadata["date"] == "2025-06-01"
    assert a.metadata["source"] == "Harbour Times" and a.metadata["author"] == "Kim Lee"


@pytest.mark.parametrize("url, ok", [
    ("https://example.org/a?b=1", True), ("http://x.org", True), ("javascript:alert(1)", False),
    ("data:text/html,hi", False), ("//evil.org", False), ('https://x.org/"onmouseover=', False), (None, False),
])
def test_safe_url_only_http(url, ok):
    assert (safe_url(url) is not None) == ok
