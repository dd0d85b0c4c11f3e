"""The offline AWS Knowledge MCP server: the remote server's tools, answered from the bundled corpus.

Local runs and tests talk to this server instead of the remote AWS Knowledge server
(https://knowledge-mcp.global.api.aws, unreachable from the build machines), and the agent falls
back to it when the remote one fails. It speaks the remote's tool names, argument names and result
envelope, so the knowledge adapter parses one format whichever server answered.

What was verified about the remote server, and where (checked 2026-09; no code copied):

* Tool names and input schemas come from a recorded anonymous `tools/list` probe of the remote
  server dated 2026-09-01 (repository api-evangelist/amazon-web-services-aws, file
  mcp/amazon-web-services-aws-mcp-tools.json), cross-checked against the tool list in
  awslabs/mcp src/aws-knowledge-mcp-server/README.md and the tool list in
  awslabs/mcp src/aws-api-mcp-server/MIGRATION.md:
    - `aws___search_documentation`: `search_phrase` (string, required), `limit` (integer,
      "default 4"), `topics` (array of up to 3 of reference_documentation, current_awareness,
      troubleshooting, amplify_docs, cdk_docs, cdk_constructs, cloudformation, agent_skills,
      strands_docs, general; default ["general"]).
    - `aws___read_documentation`: `requests`, a list of `{url, max_length?, start_index?}`
      (max_length default 10000, start_index default 0); nothing else is required.
    - `aws___list_regions`: no arguments.
    - `aws___get_regional_availability`: `resource_type` (required: product | api | cfn),
      `regions` (list, at most 10; several Regions need `filters`), `filters`, `next_token`, and
      `region`, which the remote documents as "Unused; use `regions`".
    - `aws___retrieve_skill`: `skill_name` (required), `file`. (`aws___recommend` is gone.)
    - All tools are annotated read-only, non-destructive, closed-world.
* Result envelope: one text block holding JSON `{"content": {"result": ...}}`. Verified in
  awslabs/mcp: src/aws-iac-mcp-server/.../client/aws_knowledge_client.py parses
  `json.loads(text)["content"]["result"]` into items with `rank_order`, `title`, `url`,
  `context`, and the ECS server's integration test
  (src/ecs-mcp-server/tests/integ/mcp-inspector/scenarios/02_test_knowledge_proxy_tools/utils/
  knowledge_validation_helpers.sh) requires `.content.result` for search, read and recommend.
* Search items: `rank_order` (1 is best), `url`, `title`, `context` (probe description and the
  parsers above).
* Batched read items: `status` SUCCESS with `content` (markdown), `total_length`,
  `start_index`, `end_index`, `truncated`, optional `redirected_url`; or an error item with
  `error_code` in {not_found, invalid_url, throttled, downstream_error, validation_error}
  (probe description of `aws___read_documentation`).
* Regions: items `{region_id, region_long_name}` (two independent client libraries found by
  code search). Availability: `content.result` keyed `products`, `service_apis` or
  `cfn_resources`; statuses isAvailableIn | isNotAvailableIn | isPlannedIn | Not Found; name ->
  status for one Region, name -> {region: status} for several, plus `failed_regions` and
  `next_token` (probe description; a third-party helper library parsing live answers).
* Errors: a JSON `{"errorMessage": ...}` text with `isError` false (reported by the same helper
  library; not seen first hand). Parse the payload; do not trust the flag.

Deliberate differences (the project's own docs and configuration still name the older forms):

* `aws___read_documentation` also accepts the older single-page arguments `url`, `max_length`,
  `start_index` at top level; answered in the older shape, `content.result` being the markdown
  string. The remote no longer lists them: send `requests` to the remote server.
* `aws___get_regional_availability` honours `region` when `regions` is absent. The remote ignores
  `region`: send `regions` to the remote server.
* Results carry no `structuredContent`, because the remote's presence of it is unverified; a
  client that read it offline would break online. Responses from `aws___list_regions` and
  `aws___get_regional_availability` add a top-level `notice` (beside `content`) saying the data
  is an offline approximation.
* `aws___read_documentation` returns the corpus summary of a known page and says that the full
  page needs the remote server; `aws___retrieve_skill` always answers that skills are remote-only.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlsplit, urlunsplit

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from agent_config.knowledge.corpus import load_corpus
from agent_config.knowledge.models import REMOTE_TOPICS, DocEntry
from agent_config.knowledge.regions import OFFLINE_NOTICE, AvailabilityError, load_catalogue
from agent_config.knowledge.search import default_index

logger = logging.getLogger(__name__)

SERVER_NAME: Final = "aws-knowledge-offline"
SERVER_VERSION: Final = "1.0.0"
REMOTE_SERVER_URL: Final = "https://knowledge-mcp.global.api.aws"

SEARCH_TOOL: Final = "aws___search_documentation"
READ_TOOL: Final = "aws___read_documentation"
LIST_REGIONS_TOOL: Final = "aws___list_regions"
AVAILABILITY_TOOL: Final = "aws___get_regional_availability"
SKILL_TOOL: Final = "aws___retrieve_skill"

DEFAULT_SEARCH_LIMIT: Final = 4
"""The remote's documented default."""
MAX_SEARCH_LIMIT: Final = 50
MAX_TOPICS: Final = 3
DEFAULT_TOPICS: Final = ("general",)
DEFAULT_MAX_LENGTH: Final = 10_000
MAX_READ_BATCH: Final = 10

READABLE_HOSTS: Final = frozenset(
    {
        "docs.aws.amazon.com",
        "aws.amazon.com",
        "repost.aws",
        "docs.amplify.aws",
        "ui.docs.amplify.aws",
        "github.com",
        "constructs.dev",
        "strandsagents.com",
        "karpenter.sh",
    }
)
"""Hosts the remote server reads from; other URLs are answered with `invalid_url`."""

_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

INSTRUCTIONS = (
    "Offline stand-in for the AWS Knowledge MCP server. It searches a curated corpus of AWS security "
    "documentation (Security Hub controls, the Well-Architected Security Pillar and service security "
    "guides) and returns the project's summaries with the official URLs. Full page text, skills and "
    "live regional availability need the remote server at " + REMOTE_SERVER_URL + "."
)

# ---------------------------------------------------------------------------------------------
# Result envelope
# ---------------------------------------------------------------------------------------------


def _text(payload: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(payload, ensure_ascii=False))])


def _ok(result: Any, *, notice: str | None = None) -> CallToolResult:
    """`{"content": {"result": ...}}` as the remote sends it, plus an optional offline notice."""
    payload: dict[str, Any] = {"content": {"result": result}}
    if notice is not None:
        payload["notice"] = notice
    return _text(payload)


def _error(message: str) -> CallToolResult:
    """The remote's error form: an `errorMessage` payload, not an MCP error."""
    return _text({"errorMessage": message})


# ---------------------------------------------------------------------------------------------
# aws___search_documentation
# ---------------------------------------------------------------------------------------------


def search_documentation(
    search_phrase: Annotated[str, Field(description="Words to search for; AWS service names help.")],
    limit: Annotated[int, Field(description="Maximum number of results (default 4).")] = DEFAULT_SEARCH_LIMIT,
    topics: Annotated[
        list[str] | None,
        Field(description='Up to 3 topics to search; default ["general"]. The offline corpus is all "general".'),
    ] = None,
) -> CallToolResult:
    """Ranked search of the offline security documentation corpus."""
    phrase = search_phrase.strip()
    if not phrase:
        return _error("search_phrase must not be empty")
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        return _error(f"limit must be between 1 and {MAX_SEARCH_LIMIT}, got {limit}")
    chosen = list(dict.fromkeys(topics)) if topics else list(DEFAULT_TOPICS)
    if len(chosen) > MAX_TOPICS:
        return _error(f"at most {MAX_TOPICS} topics, got {len(chosen)}")
    unknown = [topic for topic in chosen if topic not in REMOTE_TOPICS]
    if unknown:
        return _error(f"unknown topics {unknown}; choose from {sorted(REMOTE_TOPICS)}")
    hits = default_index().search(phrase, limit=limit, topics=chosen)
    return _ok(
        [
            {
                "rank_order": hit.rank,
                "url": hit.entry.url,
                "title": hit.entry.title,
                "context": hit.entry.summary,
            }
            for hit in hits
        ]
    )


# ---------------------------------------------------------------------------------------------
# aws___read_documentation
# ---------------------------------------------------------------------------------------------


class ReadRequest(BaseModel):
    """One page to read, as an item of the remote's `requests` list."""

    url: str = Field(description="Documentation URL, exactly as returned by search.")
    max_length: int | None = Field(default=None, description="Characters to return (default 10000).")
    start_index: int | None = Field(default=None, description="Character offset to start at (default 0).")


@dataclass(frozen=True, slots=True)
class PageRead:
    """The outcome of reading one URL: a slice of the offline page, or an error code and message."""

    url: str
    content: str
    error_code: str | None = None
    total_length: int = 0
    start_index: int = 0
    end_index: int = 0

    @property
    def truncated(self) -> bool:
        return self.error_code is None and self.end_index < self.total_length

    def as_item(self) -> dict[str, Any]:
        """A `requests` result item in the remote's shape."""
        if self.error_code is not None:
            return {
                "status": "ERROR",
                "url": self.url,
                "error_code": self.error_code,
                "content": self.content,
            }
        return {
            "status": "SUCCESS",
            "url": self.url,
            "content": self.content,
            "total_length": self.total_length,
            "start_index": self.start_index,
            "end_index": self.end_index,
            "truncated": self.truncated,
        }

    def as_legacy_text(self) -> str:
        """The older single-page answer: the markdown, with a pointer when more remains."""
        if not self.truncated:
            return self.content
        return (
            f"{self.content}\n\nContent truncated at character {self.end_index} of {self.total_length}. "
            f"Call {READ_TOOL} again with start_index={self.end_index} to read on."
        )


def read_page(url: str, max_length: int | None = None, start_index: int | None = None) -> PageRead:
    """Read one URL from the corpus: the whole entry for an exact URL, every entry for a page URL."""
    length = DEFAULT_MAX_LENGTH if max_length is None else max_length
    start = 0 if start_index is None else start_index
    if length < 1 or start < 0:
        return PageRead(url, "max_length must be at least 1 and start_index at least 0", "validation_error")
    normalised = _normalise_url(url)
    if normalised is None:
        return PageRead(
            url,
            f"{url!r} is not an AWS documentation URL this server reads (hosts: {', '.join(sorted(READABLE_HOSTS))}).",
            "invalid_url",
        )
    corpus = load_corpus()
    exact = corpus.by_url(normalised)
    entries = [exact] if exact is not None else corpus.on_page(normalised)
    if not entries:
        return PageRead(
            url,
            f"The offline corpus has no copy of {url}. The full page is available from the remote AWS "
            f"Knowledge server ({REMOTE_SERVER_URL}); {SEARCH_TOOL} finds what the offline corpus holds.",
            "not_found",
        )
    document = _render(entries, normalised)
    piece = document[start : start + length]
    return PageRead(url, piece, None, len(document), start, min(start + length, len(document)))


def _normalise_url(url: str) -> str | None:
    """The https form of a readable URL, or None if the remote would refuse it too."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    readable = host in READABLE_HOSTS or host.endswith(".aws.amazon.com")
    if parts.scheme not in {"https", "http"} or not readable:
        return None
    if host == "aws.amazon.com" and parts.path.startswith("/marketplace"):
        return None
    return urlunsplit(("https", parts.netloc.lower(), parts.path, parts.query, parts.fragment))


def _render(entries: Sequence[DocEntry], url: str) -> str:
    """Markdown for one entry, or for every corpus entry on one page."""
    notice = (
        "_Offline summary written for the Enhanced Security Agent, not the AWS page text. The full page "
        f"needs the remote AWS Knowledge server ({REMOTE_SERVER_URL})._"
    )
    if len(entries) == 1:
        return f"{_section(entries[0], level=1)}\n\n{notice}\n"
    sections = "\n\n".join(_section(entry, level=2) for entry in entries)
    heading = f"# {url}\n\nThe offline corpus holds {len(entries)} sections of this page."
    return f"{heading}\n\n{sections}\n\n{notice}\n"


def _section(entry: DocEntry, *, level: int) -> str:
    facts = [f"- Service: {entry.service}"]
    if entry.control_id:
        facts.append(f"- Security Hub control: {entry.control_id}")
    if entry.best_practice_id:
        facts.append(f"- Well-Architected best practice: {entry.best_practice_id}")
    if entry.related_controls:
        facts.append(f"- Related controls: {', '.join(entry.related_controls)}")
    facts.append(f"- Official page: [{entry.title}]({entry.url})")
    return f"{'#' * level} {entry.title}\n\n{entry.summary}\n\n" + "\n".join(facts)


def read_documentation(
    requests: Annotated[
        list[ReadRequest] | None,
        Field(description="Pages to read, each {url, max_length?, start_index?}; the remote server's form."),
    ] = None,
    url: Annotated[str | None, Field(description="Single page to read (older form; use requests).")] = None,
    max_length: Annotated[int | None, Field(description="With url: characters to return (default 10000).")] = None,
    start_index: Annotated[int | None, Field(description="With url: character offset (default 0).")] = None,
) -> CallToolResult:
    """Offline copy of documentation pages: the corpus summary and the official link."""
    if requests is not None and url is not None:
        return _error("give either requests or url, not both")
    if requests is not None:
        if not 1 <= len(requests) <= MAX_READ_BATCH:
            return _error(f"requests must hold between 1 and {MAX_READ_BATCH} pages, got {len(requests)}")
        return _ok([read_page(req.url, req.max_length, req.start_index).as_item() for req in requests])
    if url is None:
        return _error("requests is required: a list of {url, max_length?, start_index?}")
    page = read_page(url, max_length, start_index)
    if page.error_code is not None:
        return _error(f"{page.error_code}: {page.content}")
    return _ok(page.as_legacy_text())


# ---------------------------------------------------------------------------------------------
# aws___list_regions, aws___get_regional_availability, aws___retrieve_skill
# ---------------------------------------------------------------------------------------------


def list_regions() -> CallToolResult:
    """All commercial Regions with their names (offline data set)."""
    regions = [region.model_dump() for region in load_catalogue().regions]
    return _ok(regions, notice=OFFLINE_NOTICE)


def get_regional_availability(
    resource_type: Annotated[str, Field(description="What to look up: 'product', 'api' or 'cfn'.")],
    regions: Annotated[
        list[str] | None, Field(description="Region codes, at most 10; several Regions need filters.")
    ] = None,
    filters: Annotated[
        list[str] | None,
        Field(
            description="Exact names: products ('AWS Lambda'), APIs ('Lambda+Invoke' or 'Lambda') "
            "or CloudFormation types ('AWS::Lambda::Function')."
        ),
    ] = None,
    next_token: Annotated[str | None, Field(description="Pagination token (offline answers fit one page).")] = None,
    region: Annotated[str | None, Field(description="Single Region code (older form; use regions).")] = None,
) -> CallToolResult:
    """Availability of products, APIs or CloudFormation resources in Regions (offline approximation)."""
    if next_token:
        return _error("next_token is not valid here: the offline server returns every result in one page")
    wanted = regions if regions else ([region] if region else [])
    if not regions and region:
        logger.info("%s called with region only; the remote server ignores it and needs regions", AVAILABILITY_TOOL)
    try:
        availability = load_catalogue().availability(resource_type, wanted, filters)
    except AvailabilityError as exc:
        return _error(str(exc))
    return _ok(availability.as_result(), notice=OFFLINE_NOTICE)


def retrieve_skill(
    skill_name: Annotated[str, Field(description="skill_name copied from a search result.")],
    file: Annotated[str | None, Field(description="Optional file inside the skill.")] = None,
) -> CallToolResult:
    """Agent skills exist only on the remote server; answers with an error saying so."""
    del file
    return _error(
        f"Skill {skill_name!r} is not available offline: agent skills are served only by the remote AWS "
        f"Knowledge server ({REMOTE_SERVER_URL})."
    )


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


def build_server() -> MCPServer:
    """A new offline Knowledge server (the configuration's `agent_config.knowledge.server:build_server`).

    Cheap to call: the corpus and the search index are loaded lazily, on the first tool call, and
    shared by every server in the process.
    """
    server: MCPServer = MCPServer(SERVER_NAME, version=SERVER_VERSION, instructions=INSTRUCTIONS, log_level="WARNING")
    tools = (
        (
            SEARCH_TOOL,
            search_documentation,
            "Search AWS security documentation (offline corpus), ranked best first.",
        ),
        (READ_TOOL, read_documentation, "Read documentation pages: the offline summary and official link."),
        (LIST_REGIONS_TOOL, list_regions, "List AWS Regions with their names (offline data set)."),
        (
            AVAILABILITY_TOOL,
            get_regional_availability,
            "Regional availability of AWS products, APIs and CloudFormation resources (offline approximation).",
        ),
        (
            SKILL_TOOL,
            retrieve_skill,
            "Retrieve an AWS agent skill (remote only; answers with an error offline).",
        ),
    )
    for name, function, description in tools:
        server.add_tool(function, name=name, description=description, annotations=_READ_ONLY, structured_output=False)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Serve over stdio, or streamable HTTP on 127.0.0.1 with `--http PORT`."""
    parser = argparse.ArgumentParser(
        prog="python -m agent_config.knowledge", description="Offline AWS Knowledge MCP server."
    )
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT")
    args = parser.parse_args(argv)
    server = build_server()
    if args.http is None:
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    return 0
