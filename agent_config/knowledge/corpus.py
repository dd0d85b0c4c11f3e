"""The curated documentation corpus, loaded once and looked up by URL, page or control id.

Pure Python, no MCP: the checks and the response engine import `docs_for_control` to attach
official documentation links to findings without a round trip to any server. The data lives in
the `corpus_*.json` files beside this module (shipped as package data) and is validated on load,
so a broken URL or a duplicate entry fails at import of the corpus, in the unit tests, and not in
an answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from agent_config.knowledge.models import DocEntry, DocKind, page_of

CORPUS_FILES: tuple[str, ...] = (
    "corpus_controls.json",
    "corpus_well_architected.json",
    "corpus_guides.json",
)
"""Packaged JSON files that make up the corpus, each `{"entries": [...]}`."""


class CorpusError(ValueError):
    """The packaged corpus data is inconsistent (duplicate ids or URLs, dangling control ids)."""


class Corpus:
    """An immutable, indexed set of `DocEntry`.

    Lookups are dictionary reads, so callers on the Lambda's hot path pay nothing after the first
    load.
    """

    def __init__(self, entries: Iterable[DocEntry]) -> None:
        self._entries: tuple[DocEntry, ...] = tuple(entries)
        self._by_id: dict[str, DocEntry] = {}
        self._by_url: dict[str, DocEntry] = {}
        self._by_page: dict[str, list[DocEntry]] = {}
        self._controls: dict[str, DocEntry] = {}
        self._control_ids_lower: dict[str, str] = {}
        self._best_practices: dict[str, DocEntry] = {}
        for entry in self._entries:
            self._add(entry)
        self._check_references()

    def _add(self, entry: DocEntry) -> None:
        if entry.id in self._by_id:
            raise CorpusError(f"duplicate entry id {entry.id!r}")
        if entry.url in self._by_url:
            raise CorpusError(f"duplicate URL {entry.url!r} ({entry.id} and {self._by_url[entry.url].id})")
        self._by_id[entry.id] = entry
        self._by_url[entry.url] = entry
        self._by_page.setdefault(entry.page_url, []).append(entry)
        if entry.control_id is not None:
            if entry.control_id in self._controls:
                raise CorpusError(f"control {entry.control_id} documented twice")
            self._controls[entry.control_id] = entry
            self._control_ids_lower[entry.control_id.lower()] = entry.control_id
        if entry.best_practice_id is not None:
            self._best_practices[entry.best_practice_id] = entry

    def _check_references(self) -> None:
        dangling = sorted(
            f"{entry.id} -> {cid}"
            for entry in self._entries
            for cid in entry.related_controls
            if cid not in self._controls
        )
        if dangling:
            raise CorpusError(f"related_controls name controls the corpus does not document: {dangling}")

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> tuple[DocEntry, ...]:
        return self._entries

    @property
    def control_ids(self) -> tuple[str, ...]:
        return tuple(self._controls)

    def get(self, entry_id: str) -> DocEntry | None:
        return self._by_id.get(entry_id)

    def by_url(self, url: str) -> DocEntry | None:
        """The entry with exactly this URL (fragment included)."""
        return self._by_url.get(url.strip())

    def on_page(self, url: str) -> list[DocEntry]:
        """Every entry on the page the URL points at, ignoring its fragment, in corpus order."""
        return list(self._by_page.get(page_of(url), ()))

    def canonical_control_id(self, control_id: str) -> str | None:
        """The corpus spelling of a control id given in any case (`s3.8` -> `S3.8`), if documented."""
        return self._control_ids_lower.get(control_id.strip().lower())

    def control(self, control_id: str) -> DocEntry | None:
        canonical = self.canonical_control_id(control_id)
        return None if canonical is None else self._controls[canonical]

    def best_practice(self, best_practice_id: str) -> DocEntry | None:
        return self._best_practices.get(best_practice_id.strip().upper())

    def docs_for_control(self, control_id: str) -> list[DocEntry]:
        """The control's own reference entry first, then service guides, then Well-Architected pages.

        Empty when the corpus does not know the control, so callers can fall back to a search.
        """
        canonical = self.canonical_control_id(control_id)
        if canonical is None:
            return []
        related = [entry for entry in self._entries if canonical in entry.related_controls]
        guides = [entry for entry in related if entry.kind is DocKind.GUIDE]
        practices = [entry for entry in related if entry.kind is DocKind.BEST_PRACTICE]
        return [self._controls[canonical], *guides, *practices]


def parse_entries(documents: Sequence[dict[str, Any]]) -> list[DocEntry]:
    """Validate raw `{"entries": [...]}` documents into entries (the JSON is hand-edited)."""
    entries: list[DocEntry] = []
    for document in documents:
        entries.extend(DocEntry.model_validate(raw) for raw in document["entries"])
    return entries


def _read_packaged(name: str) -> dict[str, Any]:
    text = resources.files(__package__ or "agent_config.knowledge").joinpath(name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


_lock = threading.Lock()
_corpus: Corpus | None = None


def load_corpus() -> Corpus:
    """The packaged corpus, parsed and validated on first use and shared afterwards."""
    global _corpus  # noqa: PLW0603 - one process-wide, read-only cache is the point
    if _corpus is None:
        with _lock:
            if _corpus is None:
                _corpus = Corpus(parse_entries([_read_packaged(name) for name in CORPUS_FILES]))
    return _corpus


def docs_for_control(control_id: str) -> list[DocEntry]:
    """Documentation for a Security Hub control id such as `S3.8` (any case); empty if unknown."""
    return load_corpus().docs_for_control(control_id)
