"""The control catalogue and its framework mappings: validated data, loaded once per process.

A control's metadata (severity, risk, remediation, documentation, the IAM actions its checker needs)
changes more often than its evaluation logic, and it has to be reviewed by people who do not read
Python. So it lives as JSON beside this module and is validated on load, the way Prowler keeps its
check metadata: a typo in a severity or a URL fails at start-up and in the unit tests, not in a
customer's answer.

Package data (shipped by ``pyproject.toml``'s ``*.json`` rule)::

    catalogue/<service>.json    {"service": "S3", "controls": [Control, ...]}, one file per service
    frameworks/fsbp.json        AWS Foundational Security Best Practices (requirement id = control id)
    frameworks/cis.json         CIS AWS Foundations Benchmark v3.0.0, every recommendation
    frameworks/well_architected.json
                                Well-Architected Security Pillar SEC01-SEC11, keyed by page slug

Control ids are AWS Security Hub control ids (``S3.8``), the ids FSBP uses. Where Security Hub
has since added a control that covers the same requirement under a new number (``EC2.53`` and
``EC2.54`` for ``EC2.13`` and ``EC2.14``), the classic id stays primary and the new one is an alias.

A few requirements matter to the agent's users but have no Security Hub control (secrets left in
Lambda environment variables or EC2 user data: CodeBuild.2 and ECS.8 are the nearest, for other
services). Those are the agent's own controls, marked ``"origin": "agent"`` and numbered in their
own family, ``ESA.<n>`` (Enhanced Security Agent), so no one mistakes them for Security Hub's: they
link no Security Hub control page, name no AWS Config rule, and their severity is the agent's own
judgement (on Security Hub's scale, so scores weigh them like any other control).

Frameworks map their requirements onto catalogue control ids and are kept separate from the
controls, so adding a framework never edits a control. A requirement either names the controls that
evaluate it, or says ``assessable: false`` and why: ``gap: "process"`` when no API can show it
(threat models, incident plans, data classification) and ``gap: "not_covered"`` when an API could
but no catalogue control does yet. Neither kind may ever be reported as passed.

Weight rule (1-1000, for a weighted score beside the plain pass ratio)::

    weight = base(severity)                       CRITICAL 700, HIGH 400, MEDIUM 150, LOW 50
           + 200  if public_exposure              a failure makes the resource reachable or
                                                  readable by anyone on the internet
           + 100  if resource_type is AWS::::Account
                                                  one failure weakens the whole account
           capped at 1000

Severity carries most of the weight because it is AWS's own judgement of exploitability and
impact; exposure and account scope are the two context factors that the Security Hub severity
matrix leaves out and that most change how urgent a failure is. The weight is stored in the data
(so readers see it) and checked against this rule on load (so it cannot drift).
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from agent_config.interfaces import DocumentationLink, Remediation, Severity
from agent_config.utils.error_handling import ConfigurationError, InvalidInput

__all__ = [
    "ACCOUNT_RESOURCE_TYPE",
    "AGENT_CONTROL_PREFIX",
    "FRAMEWORK_NAMES",
    "Catalogue",
    "CatalogueError",
    "Control",
    "ControlAlias",
    "Framework",
    "FrameworkGroup",
    "Requirement",
    "UnknownControlError",
    "UnknownFrameworkError",
    "cli_operation",
    "expected_weight",
    "framework_problems",
    "is_aws_documentation_url",
    "is_read_only_action",
    "is_read_only_cli",
    "load_catalogue",
    "load_framework",
    "security_hub_control_url",
]

_PACKAGE: Final = "agent_config.checks"
_CATALOGUE_DIR: Final = "catalogue"
_FRAMEWORKS_DIR: Final = "frameworks"

ACCOUNT_RESOURCE_TYPE: Final = "AWS::::Account"
"""Security Hub's resource type for account-level settings (root user, Block Public Access, ...)."""

SEVERITY_BASE_WEIGHT: Final[Mapping[Severity, int]] = MappingProxyType(
    {Severity.CRITICAL: 700, Severity.HIGH: 400, Severity.MEDIUM: 150, Severity.LOW: 50}
)
PUBLIC_EXPOSURE_WEIGHT: Final = 200
ACCOUNT_SCOPE_WEIGHT: Final = 100
MAX_WEIGHT: Final = 1000

ALLOWED_DOC_HOSTS: Final = frozenset({"docs.aws.amazon.com", "aws.amazon.com"})
READ_ONLY_CLI_PREFIXES: Final = ("get-", "describe-", "list-", "head-")

_CONTROL_ID = r"^[A-Za-z0-9]+\.[0-9]+$"
AGENT_CONTROL_PREFIX: Final = "ESA"
"""The id family of the agent's own controls (``ESA.1``): never a Security Hub service prefix."""
_SECURITY_HUB_DOCS_PATH: Final = "/securityhub/"
_CONTROL_ID_RE: Final = re.compile(_CONTROL_ID)
_RESOURCE_TYPE_RE: Final = re.compile(r"^AWS::[A-Za-z0-9]*::[A-Za-z0-9]+$")
_READ_ONLY_ACTION_RE: Final = re.compile(r"^[a-z0-9-]+:(Get|List|Describe)[A-Za-z0-9]+$")
_CIS_ID_RE: Final = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_WA_SLUG_RE: Final = re.compile(r"^sec_[a-z0-9_]+$")
_WA_QUESTIONS: Final = tuple(f"SEC{n:02d}" for n in range(1, 12))

FrameworkName = Literal["fsbp", "cis", "well-architected"]
FRAMEWORK_NAMES: Final[tuple[FrameworkName, ...]] = ("fsbp", "cis", "well-architected")
_FRAMEWORK_FILES: Final[Mapping[FrameworkName, str]] = MappingProxyType(
    {"fsbp": "fsbp.json", "cis": "cis.json", "well-architected": "well_architected.json"}
)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class CatalogueError(ConfigurationError):
    """The packaged catalogue or framework data is invalid: a bug in this release, not user input."""


class UnknownControlError(InvalidInput):
    """A control id that is not in the catalogue (for example a typo in a user's question)."""

    def __init__(self, control_id: str) -> None:
        super().__init__(f"unknown control id {control_id!r}")
        self.control_id = control_id


class UnknownFrameworkError(InvalidInput):
    """A framework name other than the ones in `FRAMEWORK_NAMES`."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown framework {name!r}; expected one of {', '.join(FRAMEWORK_NAMES)}")
        self.name = name


# ---------------------------------------------------------------------------------------------
# Rules shared by the loader, the tests and other modules
# ---------------------------------------------------------------------------------------------


def expected_weight(severity: Severity, *, public_exposure: bool, resource_type: str) -> int:
    """The weight the module docstring's rule gives a control with these properties."""
    weight = SEVERITY_BASE_WEIGHT[severity]
    if public_exposure:
        weight += PUBLIC_EXPOSURE_WEIGHT
    if resource_type == ACCOUNT_RESOURCE_TYPE:
        weight += ACCOUNT_SCOPE_WEIGHT
    return min(weight, MAX_WEIGHT)


def security_hub_control_url(control_id: str) -> str:
    """The control's own page in the Security Hub user guide, e.g. ``...s3-controls.html#s3-8``."""
    service, number = control_id.split(".")
    slug = service.lower()
    return f"https://docs.aws.amazon.com/securityhub/latest/userguide/{slug}-controls.html#{slug}-{number}"


def is_aws_documentation_url(url: str) -> bool:
    """True for an https URL on AWS's documentation hosts, with a path and nothing unusual in it.

    Links reach the model's answer and then a person's browser, so only AWS's own documentation
    hosts are allowed: no look-alike domains, credentials, ports or whitespace.
    """
    if any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.hostname in ALLOWED_DOC_HOSTS
        and parts.port is None
        and parts.username is None
        and parts.path not in ("", "/")
    )


def cli_operation(command: str) -> tuple[str, str]:
    """The (service, operation) of an ``aws <service> <operation> ...`` command.

    Raises `ValueError` for anything else, including global options before the service, which
    would hide the operation from the read-only check.
    """
    try:
        tokens = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"not a parsable shell command: {command!r} ({exc})") from exc
    if len(tokens) < 3 or tokens[0] != "aws" or tokens[1].startswith("-") or tokens[2].startswith("-"):
        raise ValueError(f"not an 'aws <service> <operation>' command: {command!r}")
    return tokens[1], tokens[2]


def is_read_only_cli(command: str) -> bool:
    """True when the command is an AWS CLI call whose operation only reads (get/describe/list/head)."""
    try:
        _, operation = cli_operation(command)
    except ValueError:
        return False
    return operation.startswith(READ_ONLY_CLI_PREFIXES)


def is_read_only_action(action: str) -> bool:
    """True for an IAM action of the form ``service:Get*``, ``service:List*`` or ``service:Describe*``."""
    return _READ_ONLY_ACTION_RE.fullmatch(action) is not None


# ---------------------------------------------------------------------------------------------
# Controls
# ---------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ControlAlias(_Model):
    """A newer Security Hub control id covering the same requirement, and how the two differ."""

    id: str = Field(pattern=_CONTROL_ID)
    note: str = Field(min_length=1)


class Control(_Model):
    """One security control: what must hold, why it matters, how to fix it, and what a checker reads."""

    id: str = Field(pattern=_CONTROL_ID, description="Security Hub control id ('S3.8') or the agent's ('ESA.1').")
    title: str = Field(min_length=1)
    service: str = Field(min_length=1, description="The id's prefix, e.g. 'S3'.")
    resource_type: str = Field(description="CloudFormation type, or 'AWS::::Account' for account settings.")
    severity: Severity = Field(description="Security Hub's current severity (the agent's own rating for ESA.n).")
    severity_note: str = Field(
        default="", description="How the severity changed over time, or why the agent rated its own control so."
    )
    risk: str = Field(min_length=1, description="The business risk when the control fails, in one sentence.")
    public_exposure: bool = Field(description="A failure exposes the resource to anyone on the internet.")
    weight: int = Field(ge=1, le=MAX_WEIGHT, description="Importance for weighted scores; see module docs.")
    cis: tuple[str, ...] = Field(description="CIS AWS Foundations Benchmark v3.0.0 recommendation ids.")
    well_architected: tuple[str, ...] = Field(min_length=1, description="Security Pillar best-practice slugs.")
    remediation: Remediation
    documentation: tuple[DocumentationLink, ...] = Field(min_length=2)
    config_rule: str | None = Field(description="AWS Config managed rule, None where Security Hub uses its own.")
    iam_actions: tuple[str, ...] = Field(min_length=1, description="Read-only actions the checker needs.")
    aliases: tuple[ControlAlias, ...] = ()
    origin: Literal["security_hub", "agent"] = Field(
        default="security_hub",
        description="'agent' for the agent's own controls (ESA.n), which Security Hub does not have.",
    )

    @field_validator("severity")
    @classmethod
    def _not_informational(cls, severity: Severity) -> Severity:
        if severity is Severity.INFORMATIONAL:
            raise ValueError("a control's severity is CRITICAL, HIGH, MEDIUM or LOW")
        return severity

    @property
    def number(self) -> int:
        """The numeric part of the id, for natural ordering (EC2.2 before EC2.13)."""
        return int(self.id.split(".")[1])

    @property
    def sort_key(self) -> tuple[str, int]:
        return (self.service.lower(), self.number)

    @model_validator(mode="after")
    def _consistent(self) -> Control:
        problems = [
            *self._identity_problems(),
            *self._remediation_problems(),
            *self._reference_problems(),
        ]
        if problems:
            raise ValueError(f"{self.id}: " + "; ".join(problems))
        return self

    def _identity_problems(self) -> list[str]:
        problems: list[str] = []
        if self.id.split(".")[0] != self.service:
            problems.append(f"service {self.service!r} does not match the id's prefix")
        if not _RESOURCE_TYPE_RE.fullmatch(self.resource_type):
            problems.append(f"resource_type {self.resource_type!r} is not a CloudFormation type")
        if not self.title.strip() or not self.risk.strip():
            problems.append("title and risk must not be blank")
        expected = expected_weight(
            self.severity, public_exposure=self.public_exposure, resource_type=self.resource_type
        )
        if self.weight != expected:
            problems.append(f"weight {self.weight} does not follow the weight rule ({expected})")
        return problems

    def _remediation_problems(self) -> list[str]:
        """Every field a user needs before pasting a fix: steps, commands, IaC, what breaks, a check."""
        fix = self.remediation
        problems: list[str] = []
        for name, value in (
            ("summary", fix.summary),
            ("infrastructure_as_code", fix.infrastructure_as_code),
            ("may_break", fix.may_break),
            ("verify_command", fix.verify_command),
        ):
            if not (value or "").strip():
                problems.append(f"remediation.{name} is empty")
        if not fix.console_steps or any(not step.strip() for step in fix.console_steps):
            problems.append("remediation.console_steps must be non-empty")
        if not fix.cli_commands:
            problems.append("remediation.cli_commands must be non-empty")
        for command in fix.cli_commands:
            try:
                cli_operation(command)
            except ValueError as exc:
                problems.append(f"remediation.cli_commands: {exc}")
        if fix.verify_command and not is_read_only_cli(fix.verify_command):
            problems.append(f"verify_command is not a read-only AWS CLI call: {fix.verify_command!r}")
        return problems

    def _reference_problems(self) -> list[str]:
        problems: list[str] = []
        bad_actions = [a for a in self.iam_actions if not is_read_only_action(a)]
        if bad_actions:
            problems.append(f"iam_actions are not read-only: {bad_actions}")
        if len(set(self.iam_actions)) != len(self.iam_actions):
            problems.append("iam_actions has duplicates")
        if self.origin == "agent":
            problems.extend(self._agent_control_problems())
        elif self.id.split(".")[0] == AGENT_CONTROL_PREFIX:
            problems.append(f"{AGENT_CONTROL_PREFIX}.n ids belong to the agent's own controls (origin 'agent')")
        elif self.documentation[0].url != security_hub_control_url(self.id):
            problems.append("the first documentation link must be the control's Security Hub page")
        problems.extend(
            f"documentation URL not on an AWS documentation host: {link.url}"
            for link in self.documentation
            if not is_aws_documentation_url(link.url)
        )
        problems.extend(f"CIS id {cis!r} is malformed" for cis in self.cis if not _CIS_ID_RE.fullmatch(cis))
        problems.extend(
            f"Well-Architected slug {slug!r} is malformed"
            for slug in self.well_architected
            if not _WA_SLUG_RE.fullmatch(slug)
        )
        problems.extend(f"alias {a.id} is the control itself" for a in self.aliases if a.id == self.id)
        if self.config_rule is not None and not re.fullmatch(r"[a-z0-9-]+", self.config_rule):
            problems.append(f"config_rule {self.config_rule!r} is not an AWS Config rule name")
        return problems

    def _agent_control_problems(self) -> list[str]:
        """An agent control must not pass for a Security Hub one: its own id family, no Security Hub
        page (there is none to link) and no AWS Config managed rule (none evaluates it)."""
        problems: list[str] = []
        if self.id.split(".")[0] != AGENT_CONTROL_PREFIX:
            problems.append(f"an agent control's id must be {AGENT_CONTROL_PREFIX}.<n>")
        if self.config_rule is not None:
            problems.append("an agent control has no AWS Config managed rule")
        problems.extend(
            f"an agent control must not link a Security Hub control page: {link.url}"
            for link in self.documentation
            if _SECURITY_HUB_DOCS_PATH in link.url
        )
        return problems


class _ServiceFile(_Model):
    """One ``catalogue/<service>.json`` document."""

    service: str
    controls: tuple[Control, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_service(self) -> _ServiceFile:
        strays = [c.id for c in self.controls if c.service != self.service]
        if strays:
            raise ValueError(f"controls of another service in the {self.service} file: {strays}")
        return self


class Catalogue(_Model):
    """Every control, indexed by id. Built by `load_catalogue`; immutable."""

    controls: tuple[Control, ...]
    _by_id: dict[str, Control] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        counts = Counter(c.id for c in self.controls)
        duplicates = sorted(cid for cid, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate control ids: {duplicates}")
        clashes = sorted({a.id for c in self.controls for a in c.aliases if a.id in counts})
        if clashes:
            raise ValueError(f"alias ids that are also primary control ids: {clashes}")
        return self

    def model_post_init(self, context: object, /) -> None:
        self._by_id = {c.id: c for c in sorted(self.controls, key=lambda c: c.sort_key)}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, control_id: object) -> bool:
        return control_id in self._by_id

    def get(self, control_id: str) -> Control:
        """The control with this id; `UnknownControlError` (an `InvalidInput`) when there is none."""
        try:
            return self._by_id[control_id]
        except KeyError:
            raise UnknownControlError(control_id) from None

    def find(self, control_id: str) -> Control | None:
        """The control with this id, or None: for callers that treat unknown ids as normal."""
        return self._by_id.get(control_id)

    def ids(self) -> frozenset[str]:
        return frozenset(self._by_id)

    def all(self) -> tuple[Control, ...]:
        """Every control, ordered by service then control number (EC2.2 before EC2.13)."""
        return tuple(self._by_id.values())

    def by_service(self) -> dict[str, tuple[Control, ...]]:
        """Controls grouped by service (``"S3"``), services in alphabetical order."""
        grouped: dict[str, list[Control]] = {}
        for control in self._by_id.values():
            grouped.setdefault(control.service, []).append(control)
        return {service: tuple(grouped[service]) for service in sorted(grouped, key=str.lower)}

    def aliased(self, alias_id: str) -> tuple[Control, ...]:
        """The catalogue controls that list ``alias_id`` (a newer Security Hub id) as an alias."""
        return tuple(c for c in self._by_id.values() if any(a.id == alias_id for a in c.aliases))

    def required_iam_actions(self, controls: Iterable[str] | None = None) -> list[str]:
        """The sorted union of the read-only IAM actions the checkers need.

        The deploy step derives the Lambda's least-privilege policy from this, so it is computed
        from the data rather than kept as a second list that could fall out of step. Pass control
        ids to get the actions for a subset (for example the controls a request will evaluate).
        """
        chosen = self.all() if controls is None else tuple(self.get(cid) for cid in controls)
        return sorted({action for control in chosen for action in control.iam_actions})


# ---------------------------------------------------------------------------------------------
# Frameworks
# ---------------------------------------------------------------------------------------------

Gap = Literal["process", "not_covered"]
Coverage = Literal["full", "partial"]


class FrameworkGroup(_Model):
    """A section of a framework: a CIS section, a Well-Architected question, an FSBP service."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    url: str | None = None


class Requirement(_Model):
    """One framework requirement and how the catalogue evaluates it, or why it cannot."""

    id: str = Field(min_length=1, description="CIS id, Well-Architected slug, or FSBP control id.")
    title: str = Field(min_length=1)
    group: str = Field(min_length=1)
    controls: tuple[str, ...] = ()
    assessable: bool = True
    coverage: Coverage | None = Field(default=None, description="Whether the controls cover all of it.")
    gap: Gap | None = Field(default=None, description="Why it is not assessable: 'process' or 'not_covered'.")
    reason: str = ""
    note: str = ""
    number: str | None = Field(default=None, description="The framework's own number, e.g. 'SEC01-BP02'.")
    risk_level: Literal["HIGH", "MEDIUM", "LOW"] | None = None
    url: str | None = None
    security_hub_controls: tuple[str, ...] = Field(
        default=(), description="Security Hub's own mapping of the requirement, when it has one."
    )

    @model_validator(mode="after")
    def _assessable_or_explained(self) -> Requirement:
        if self.assessable:
            if not self.controls or self.coverage is None or self.gap is not None:
                raise ValueError(f"{self.id}: an assessable requirement needs controls and coverage, no gap")
        elif self.controls or self.gap is None or not self.reason.strip():
            raise ValueError(f"{self.id}: a non-assessable requirement needs a gap and a reason, no controls")
        if self.url is not None and not is_aws_documentation_url(self.url):
            raise ValueError(f"{self.id}: URL not on an AWS documentation host: {self.url}")
        malformed = [c for c in (*self.controls, *self.security_hub_controls) if not _CONTROL_ID_RE.fullmatch(c)]
        if malformed:
            raise ValueError(f"{self.id}: malformed control ids {malformed}")
        return self


class Framework(_Model):
    """A compliance framework as requirements mapped onto catalogue controls."""

    name: FrameworkName
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    source_url: str
    description: str = ""
    groups: tuple[FrameworkGroup, ...] = Field(min_length=1)
    requirements: tuple[Requirement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _well_formed(self) -> Framework:
        ids = [r.id for r in self.requirements]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.name}: duplicate requirement ids")
        group_ids = {g.id for g in self.groups}
        orphans = sorted({r.group for r in self.requirements} - group_ids)
        if orphans:
            raise ValueError(f"{self.name}: requirements in unknown groups {orphans}")
        urls = [self.source_url, *(g.url for g in self.groups if g.url)]
        bad = [u for u in urls if not is_aws_documentation_url(u)]
        if bad:
            raise ValueError(f"{self.name}: URLs not on an AWS documentation host: {bad}")
        return self

    def requirement(self, requirement_id: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.id == requirement_id:
                return requirement
        raise InvalidInput(f"{self.name} has no requirement {requirement_id!r}")

    def by_group(self) -> dict[str, tuple[Requirement, ...]]:
        """Requirements per group, in the framework's own order."""
        return {g.id: tuple(r for r in self.requirements if r.group == g.id) for g in self.groups}

    def control_ids(self) -> frozenset[str]:
        """Every catalogue control the framework relies on."""
        return frozenset(c for r in self.requirements for c in r.controls)

    def requirements_for_control(self, control_id: str) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if control_id in r.controls)

    def assessable(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.assessable)

    def not_assessable(self) -> tuple[Requirement, ...]:
        """Requirements to report as 'not assessable automatically', never as passed."""
        return tuple(r for r in self.requirements if not r.assessable)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _data_dir(name: str) -> Traversable:
    return files(_PACKAGE).joinpath(name)


def _read_json(resource: Traversable, label: str) -> object:
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"cannot read {label}", detail=str(exc)) from exc


@cache
def load_catalogue() -> Catalogue:
    """Every ``catalogue/*.json`` file, validated into one `Catalogue`; cached for warm invocations."""
    directory = _data_dir(_CATALOGUE_DIR)
    resources = sorted((r for r in directory.iterdir() if r.name.endswith(".json")), key=lambda r: r.name)
    if not resources:
        raise CatalogueError(f"no control files in {_PACKAGE}/{_CATALOGUE_DIR}")
    controls: list[Control] = []
    for resource in resources:
        label = f"{_CATALOGUE_DIR}/{resource.name}"
        try:
            service_file = _ServiceFile.model_validate(_read_json(resource, label))
        except ValidationError as exc:
            raise CatalogueError(f"invalid control data in {label}", detail=str(exc)) from exc
        if resource.name != f"{service_file.service.lower()}.json":
            raise CatalogueError(f"{label} holds service {service_file.service!r}; name it after the service")
        controls.extend(service_file.controls)
    try:
        return Catalogue(controls=tuple(controls))
    except ValidationError as exc:
        raise CatalogueError("invalid catalogue", detail=str(exc)) from exc


def load_framework(name: str) -> Framework:
    """One framework (``fsbp``, ``cis`` or ``well-architected``), checked against the catalogue.

    Beyond its own shape, a framework must only reference controls the catalogue has, and the
    mappings held on both sides (a control's ``cis`` and ``well_architected`` lists, a framework's
    requirement ``controls``) must agree, so a report never cites a requirement the control does not
    know about. Names are matched case-insensitively, ``well_architected`` included; the result is
    cached per framework.
    """
    key = name.strip().lower().replace("_", "-")
    framework_name = next((n for n in FRAMEWORK_NAMES if n == key), None)
    if framework_name is None:
        raise UnknownFrameworkError(name)
    return _load_framework(framework_name)


@cache
def _load_framework(name: FrameworkName) -> Framework:
    file_name = _FRAMEWORK_FILES[name]
    label = f"{_FRAMEWORKS_DIR}/{file_name}"
    try:
        framework = Framework.model_validate(_read_json(_data_dir(_FRAMEWORKS_DIR).joinpath(file_name), label))
    except ValidationError as exc:
        raise CatalogueError(f"invalid framework data in {label}", detail=str(exc)) from exc
    if framework.name != name:
        raise CatalogueError(f"{label} declares framework {framework.name!r}")
    problems = framework_problems(framework, load_catalogue())
    if problems:
        raise CatalogueError(f"{label} disagrees with the catalogue", detail="; ".join(problems))
    return framework


def framework_problems(framework: Framework, catalogue: Catalogue) -> list[str]:
    """Why ``framework`` disagrees with ``catalogue``; empty when they agree.

    Unknown control ids; for FSBP, a requirement not mapped to the control of its own id; for CIS
    and Well-Architected, a control whose own ``cis`` or ``well_architected`` list differs from the
    requirements that list it; for Well-Architected, questions other than SEC01-SEC11 in order, or a
    question without best practices.
    """
    problems = [
        f"requirement {r.id} references unknown control {c}"
        for r in framework.requirements
        for c in r.controls
        if c not in catalogue
    ]
    if framework.name == "fsbp":
        problems.extend(
            f"FSBP requirement {r.id} must map to the control of the same id"
            for r in framework.requirements
            if r.controls != (r.id,)
        )
    elif framework.name == "cis":
        problems.extend(_mapping_problems(framework, catalogue, lambda c: c.cis))
    else:
        problems.extend(_mapping_problems(framework, catalogue, lambda c: c.well_architected))
        questions = tuple(g.id for g in framework.groups)
        if questions != _WA_QUESTIONS:
            problems.append(f"questions must be {', '.join(_WA_QUESTIONS)} in order, found {questions}")
        problems.extend(f"question {q} has no best practices" for q, rs in framework.by_group().items() if not rs)
    return problems


def _mapping_problems(
    framework: Framework, catalogue: Catalogue, declared: Callable[[Control], tuple[str, ...]]
) -> list[str]:
    """Differences between what controls declare and what the framework's requirements list."""
    from_framework = {cid: {r.id for r in framework.requirements_for_control(cid)} for cid in catalogue.ids()}
    problems: list[str] = []
    for control in catalogue.all():
        said = set(declared(control))
        listed = from_framework[control.id]
        if said != listed:
            problems.append(
                f"{control.id} declares {framework.name} {sorted(said)}, the framework lists {sorted(listed)}"
            )
    return problems
