"""Validated shapes of the offline knowledge data: documentation entries, Regions and products.

The corpus is hand-edited JSON, so every entry is checked on load: a typo in a URL or a control id
should fail the unit tests, not surface as a dead link in an answer the agent gives to a user.
Nothing here does I/O; `corpus.py` and `regions.py` load the packaged files into these models.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

REMOTE_TOPICS: frozenset[str] = frozenset(
    {
        "reference_documentation",
        "current_awareness",
        "troubleshooting",
        "amplify_docs",
        "cdk_docs",
        "cdk_constructs",
        "cloudformation",
        "agent_skills",
        "strands_docs",
        "general",
    }
)
"""Topic names the remote `aws___search_documentation` accepts (tools/list probe, 2026-09-01)."""

OFFICIAL_DOC_HOSTS: frozenset[str] = frozenset({"docs.aws.amazon.com", "aws.amazon.com"})
"""Hosts a corpus entry may link to; subdomains of aws.amazon.com are accepted too."""

CONTROL_ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*\.\d+$")
"""Security Hub control ids: service prefix, a dot, a number (`S3.8`, `SecretsManager.1`)."""

BEST_PRACTICE_ID_PATTERN = re.compile(r"^SEC\d{2}-BP\d{2}$")
"""Well-Architected Security Pillar best practice ids (`SEC01-BP02`)."""

_MIN_SUMMARY_CHARS = 60


def is_official_doc_url(url: str) -> bool:
    """True for an https URL on docs.aws.amazon.com, aws.amazon.com or a subdomain of aws.amazon.com."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    official = host in OFFICIAL_DOC_HOSTS or host.endswith(".aws.amazon.com")
    return parts.scheme == "https" and official and bool(parts.path)


def page_of(url: str) -> str:
    """The page a URL points at: no fragment, no query, no trailing slash, host in lower case.

    Security Hub documents many controls on one page (`s3-controls.html#s3-8`), so lookups by
    page need a canonical form that drops the anchor.
    """
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}{path}"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocKind(StrEnum):
    CONTROL = "control"
    """A Security Hub (FSBP) control's section of the controls reference."""
    BEST_PRACTICE = "best_practice"
    """A Well-Architected Security Pillar best practice page."""
    GUIDE = "guide"
    """A security chapter of a service guide, whitepaper or prescriptive guidance."""


class DocEntry(_Frozen):
    """One official documentation page (or page section) with a summary in the project's words."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable identifier, e.g. 'fsbp-s3-8'.")
    kind: DocKind
    service: str = Field(min_length=2, description="Service the page belongs to, e.g. 'S3'.")
    title: str = Field(min_length=5)
    url: str
    topics: tuple[str, ...] = Field(min_length=1, description="Remote search topics this page answers.")
    tags: tuple[str, ...] = Field(default=(), description="Search keywords and synonyms.")
    summary: str = Field(min_length=_MIN_SUMMARY_CHARS)
    control_id: str | None = None
    best_practice_id: str | None = None
    related_controls: tuple[str, ...] = Field(default=(), description="Controls this page helps to explain or fix.")

    @field_validator("url")
    @classmethod
    def _official_https(cls, url: str) -> str:
        if not is_official_doc_url(url):
            raise ValueError(f"not an official https AWS documentation URL: {url!r}")
        return url

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(topics) - REMOTE_TOPICS)
        if unknown:
            raise ValueError(f"unknown topics {unknown}; allowed: {sorted(REMOTE_TOPICS)}")
        return topics

    @field_validator("control_id")
    @classmethod
    def _control_id_format(cls, control_id: str | None) -> str | None:
        if control_id is not None and not CONTROL_ID_PATTERN.match(control_id):
            raise ValueError(f"malformed control id {control_id!r}")
        return control_id

    @field_validator("related_controls")
    @classmethod
    def _related_format(cls, related: tuple[str, ...]) -> tuple[str, ...]:
        bad = [cid for cid in related if not CONTROL_ID_PATTERN.match(cid)]
        if bad:
            raise ValueError(f"malformed related control ids {bad}")
        return related

    @field_validator("best_practice_id")
    @classmethod
    def _best_practice_format(cls, bp: str | None) -> str | None:
        if bp is not None and not BEST_PRACTICE_ID_PATTERN.match(bp):
            raise ValueError(f"malformed best practice id {bp!r}")
        return bp

    @model_validator(mode="after")
    def _kind_has_its_id(self) -> DocEntry:
        if self.kind is DocKind.CONTROL and self.control_id is None:
            raise ValueError(f"{self.id}: a control entry needs control_id")
        if self.kind is DocKind.BEST_PRACTICE and self.best_practice_id is None:
            raise ValueError(f"{self.id}: a best practice entry needs best_practice_id")
        if self.summary.strip().rstrip(".").lower() == self.title.strip().rstrip(".").lower():
            raise ValueError(f"{self.id}: summary only repeats the title")
        return self

    @property
    def page_url(self) -> str:
        """The entry's URL without its fragment (several controls share one reference page)."""
        return page_of(self.url)


class Region(_Frozen):
    """An AWS Region as the remote `aws___list_regions` reports it."""

    region_id: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    region_long_name: str = Field(min_length=3)


class Product(_Frozen):
    """A product in the offline availability data set and the names it answers to."""

    name: str = Field(min_length=2, description="Catalogue name, e.g. 'AWS Lambda'.")
    sdk_service_ids: tuple[str, ...] = Field(default=(), description="SDK service ids, e.g. 'Lambda'.")
    cfn_services: tuple[str, ...] = Field(default=(), description="CloudFormation namespaces, e.g. 'Lambda'.")
    available_in: Literal["all"] | tuple[str, ...] = Field(
        description="'all' for every commercial Region, else the Region ids known to offer it."
    )

    def available(self, region_id: str) -> bool:
        return self.available_in == "all" or region_id in self.available_in
