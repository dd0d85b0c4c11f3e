"""Offline AWS Knowledge: a curated security documentation corpus and an MCP server over it.

Modules, from data to wire:
- `models`: validated shapes of the data (`DocEntry`, `Region`, `Product`);
- `corpus`: the packaged `corpus_*.json`, loaded once (`load_corpus`, `docs_for_control`);
- `search`: ranked full-text search with SQLite FTS5 and BM25 (`SearchIndex`, `search.search`;
  the function is not re-exported here, so it cannot shadow the module);
- `regions`: offline Regions and availability in the remote's vocabulary;
- `server`: the MCP server speaking the remote AWS Knowledge server's tools (`build_server`).

Everything except `server` is plain Python with no MCP import, so the checks and the response
engine can look documentation up without a server.
"""

from agent_config.knowledge.corpus import Corpus, docs_for_control, load_corpus
from agent_config.knowledge.models import DocEntry, DocKind
from agent_config.knowledge.search import SearchHit, SearchIndex

__all__ = [
    "Corpus",
    "DocEntry",
    "DocKind",
    "SearchHit",
    "SearchIndex",
    "docs_for_control",
    "load_corpus",
]
