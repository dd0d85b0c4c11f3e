"""Ranked full-text search over the corpus: SQLite FTS5 with BM25, in memory, built once.

Why FTS5: it ships with the standard library's sqlite3, needs no model or network, builds the
index for a few hundred entries in milliseconds, and its BM25 ranking takes per-column weights,
so a term in a page title counts far more than the same term deep in a summary.

How a query is scored:
- the phrase is split into words and stop words are dropped; each remaining word forms a group
  with the few synonyms documentation uses for it (`ssh` also matches port `22`);
- a page matches if it contains any group; pages are ordered first by how many groups they
  contain (coverage: a page with every word the user typed beats one with some of them), then by
  BM25 over the user's own words, then by BM25 including the synonyms. Synonyms widen recall
  without letting a page win merely because it spells both forms;
- BM25 columns are weighted title > ids > tags > summary (`COLUMN_WEIGHTS`);
- an explicit control id (`S3.8`) or best practice id (`SEC01-BP02`) in the phrase pins that
  entry to the top, because someone who types an id wants that page.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from agent_config.knowledge.models import DocEntry

COLUMN_WEIGHTS: tuple[float, float, float, float] = (10.0, 6.0, 4.0, 1.0)
"""BM25 weights for the indexed columns, in order: title, ids, tags, summary."""

STOP_WORDS: frozenset[str] = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "should",
        "that",
        "the",
        "their",
        "them",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
        "you",
        "your",
    }
)
"""Words too common in control titles ('should be enabled') to help ranking."""

QUERY_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "ssh": ("22",),
    "rdp": ("3389", "remote", "desktop"),
    "mfa": ("multi", "factor"),
    "2fa": ("mfa",),
    "imds": ("metadata",),
    "imdsv2": ("metadata",),
    "imdsv1": ("imdsv2", "metadata"),
    "tls": ("ssl", "https"),
    "ssl": ("tls",),
    "https": ("tls",),
    "cmk": ("kms",),
    "pii": ("sensitive",),
}
"""Abbreviations users type and the words the documentation uses for the same thing."""

_WORD = re.compile(r"[a-z0-9]+")
_CONTROL_ID = re.compile(r"\b([a-z][a-z0-9]*\.\d+)\b", re.IGNORECASE)
_BEST_PRACTICE_ID = re.compile(r"\bsec\s*-?\s*(\d{1,2})\s*-?\s*bp\s*-?\s*(\d{1,2})\b", re.IGNORECASE)

_ID_PREFIX = re.compile(r"^\[[^\]]+\]\s*")

_SCHEMA = "CREATE VIRTUAL TABLE docs USING fts5(title, ids, tags, summary, tokenize = 'porter unicode61')"
_INSERT = "INSERT INTO docs (rowid, title, ids, tags, summary) VALUES (?, ?, ?, ?, ?)"
_QUERY = "SELECT rowid, bm25(docs, ?, ?, ?, ?) FROM docs WHERE docs MATCH ?"
_ROWS = "SELECT rowid FROM docs WHERE docs MATCH ?"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked result. `rank` is 1-based (the remote server's `rank_order`); lower is better."""

    entry: DocEntry
    rank: int
    score: float


def query_groups(phrase: str) -> list[tuple[str, ...]]:
    """One group per meaningful word of the phrase: the word followed by its expansions."""
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for word in _WORD.findall(phrase.lower()):
        if word in STOP_WORDS or word in seen:
            continue
        seen.add(word)
        groups.append((word, *QUERY_EXPANSIONS.get(word, ())))
    return groups


def query_terms(phrase: str) -> list[str]:
    """Every term searched for a phrase (words and expansions), in first-seen order."""
    terms: list[str] = []
    for group in query_groups(phrase):
        terms.extend(term for term in group if term not in terms)
    return terms


def _match_any(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression for any of the terms; quoting keeps user text out of the syntax."""
    return " OR ".join('"' + term.replace('"', "") + '"' for term in terms)


class SearchIndex:
    """An in-memory FTS5 index over a fixed set of entries.

    Thread-safe: one connection guarded by a lock (the index is tiny; queries take well under a
    millisecond, so contention is not a concern).
    """

    def __init__(self, entries: Sequence[DocEntry]) -> None:
        self._entries: tuple[DocEntry, ...] = tuple(entries)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(_SCHEMA)
        self._db.executemany(_INSERT, [(row, *_columns(entry)) for row, entry in enumerate(self._entries)])
        self._db.commit()
        self._by_control = {e.control_id.lower(): i for i, e in enumerate(self._entries) if e.control_id}
        self._by_best_practice = {e.best_practice_id: i for i, e in enumerate(self._entries) if e.best_practice_id}

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, phrase: str, *, limit: int = 10, topics: Collection[str] | None = None) -> list[SearchHit]:
        """Up to `limit` entries ranked by relevance; only entries in `topics` when given."""
        if limit < 1:
            return []
        pinned = self._pinned(phrase)
        ranked = [(row, float("-inf")) for row in pinned]
        ranked.extend(item for item in self._rank(query_groups(phrase)) if item[0] not in pinned)
        hits: list[SearchHit] = []
        for row, score in ranked:
            entry = self._entries[row]
            if topics is not None and not set(entry.topics) & set(topics):
                continue
            hits.append(SearchHit(entry=entry, rank=len(hits) + 1, score=score))
            if len(hits) == limit:
                break
        return hits

    def _rank(self, groups: Sequence[tuple[str, ...]]) -> list[tuple[int, float]]:
        """Matching rows with their BM25 score, best first.

        Ordered by coverage of the groups, then BM25 over the user's words, then BM25 over all
        terms (SQLite's bm25() is negative; lower is better).
        """
        if not groups:
            return []
        words = [group[0] for group in groups]
        all_terms = list(dict.fromkeys(term for group in groups for term in group))
        coverage: dict[int, int] = {}
        with self._lock:
            for group in groups:
                for (row,) in self._db.execute(_ROWS, (_match_any(group),)):
                    coverage[int(row)] = coverage.get(int(row), 0) + 1
            by_words = dict(self._db.execute(_QUERY, (*COLUMN_WEIGHTS, _match_any(words))).fetchall())
            by_all = dict(self._db.execute(_QUERY, (*COLUMN_WEIGHTS, _match_any(all_terms))).fetchall())

        def order(row: int) -> tuple[int, float, float, int]:
            return (-coverage[row], float(by_words.get(row, 0.0)), float(by_all.get(row, 0.0)), row)

        return [(row, float(by_all.get(row, 0.0))) for row in sorted(coverage, key=order)]

    def _pinned(self, phrase: str) -> list[int]:
        """Rows of entries whose control or best practice id appears verbatim in the phrase."""
        rows: list[int] = []
        for control_id in _CONTROL_ID.findall(phrase):
            row = self._by_control.get(control_id.lower())
            if row is not None and row not in rows:
                rows.append(row)
        for question, practice in _BEST_PRACTICE_ID.findall(phrase):
            row = self._by_best_practice.get(f"SEC{int(question):02d}-BP{int(practice):02d}")
            if row is not None and row not in rows:
                rows.append(row)
        return rows

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _columns(entry: DocEntry) -> tuple[str, str, str, str]:
    # A control id already starts with its service (`S3.8`); adding the service again would count it twice.
    ids = entry.control_id or " ".join(filter(None, (entry.best_practice_id, entry.service)))
    title = _ID_PREFIX.sub("", entry.title)  # the id is indexed once, in `ids`, not twice
    return title, ids, " ; ".join(entry.tags), entry.summary


_default_lock = threading.Lock()
_default_index: SearchIndex | None = None


def default_index() -> SearchIndex:
    """The index over the packaged corpus, built on first use and reused for the process lifetime."""
    global _default_index  # noqa: PLW0603 - one process-wide, read-only index is the point
    if _default_index is None:
        with _default_lock:
            if _default_index is None:
                from agent_config.knowledge.corpus import load_corpus

                _default_index = SearchIndex(load_corpus().entries)
    return _default_index


def search(phrase: str, *, limit: int = 10, topics: Collection[str] | None = None) -> list[SearchHit]:
    """Search the packaged corpus (see `SearchIndex.search`)."""
    return default_index().search(phrase, limit=limit, topics=topics)
