"""Deployment errors a person can act on: each one is a single sentence that says what is wrong and
what to do about it, because the person reading it is at a terminal, not in a debugger.

    DeployError                       base: `str(error)` is the sentence, `.fix` the next step
    ├── MissingPermission             AccessDenied: names the IAM action the caller lacks
    │   └── CreateAgentDenied         CreateAgent denied without a reason: the permission or Agents Classic
    ├── AgentsClassicUnavailable      the account may not create Agents Classic agents
    ├── ModelAccessDenied             the model (or its inference profile) is not enabled
    ├── WrongRegion                   the service or the model is not offered in that Region
    ├── QuotaExceeded                 a service quota (APIs per agent, parameters per function, ...)
    ├── PrepareFailed                 prepare_agent (or an alias) ended FAILED: its failureReasons
    ├── NotOurs                       a resource with our name exists but lacks our stack tag
    ├── WaitTimedOut                  a status did not settle within the bound we allow
    └── PackagingFailed               pip could not build the Lambda package for the target platform

`explain_client_error` turns a botocore `ClientError` raised by a named operation into the most
specific of these. The wording is a contract with the README's troubleshooting section and the
tests, so change both together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from botocore.exceptions import ClientError

# Services whose IAM action prefix differs from their botocore name.
_IAM_PREFIX: Final = {
    "bedrock-agent": "bedrock",
    "bedrock-agent-runtime": "bedrock",
    "bedrock-agentcore-control": "bedrock-agentcore",
    "bedrock-agentcore": "bedrock-agentcore",
    "logs": "logs",
}
_NOT_AUTHORIZED = re.compile(r"not authorized to perform:?\s+([A-Za-z0-9-]+:[A-Za-z0-9*]+)")
_CLASSIC_HINTS: Final = (
    "agents classic",
    "new customer",
    "not available for new",
    "no longer available",
    "not allowlisted",
    "not allow-listed",
    "not enabled for this account",
)
_MODEL_ACCESS_HINTS: Final = (
    "model access",
    "don't have access to the model",
    "do not have access to the model",
    "access to the model",
    "not authorized to invoke model",
    "model is not enabled",
)
_REGION_HINTS: Final = (
    "not supported in this region",
    "not available in this region",
    "isn't supported in this region",
    "unsupported region",
    "model identifier is invalid",
    "invalid model identifier",
)
_QUOTA_CODES: Final = frozenset(
    {"ServiceQuotaExceededException", "LimitExceededException", "LimitExceeded", "QuotaExceededException"}
)
_DENIED_CODES: Final = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException"}
)


class DeployError(Exception):
    """A deployment step failed in a way the operator can fix; `str()` is one sentence."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} {self.fix}".strip()


class MissingPermission(DeployError):
    def __init__(self, action: str, operation: str, detail: str = "") -> None:
        self.action = action
        super().__init__(
            f"Access denied for {operation}: the credentials you deploy with lack the IAM permission "
            f"{action}{f' ({detail})' if detail else ''}.",
            f"Grant {action} to the deploying principal and run the same command again.",
        )


class CreateAgentDenied(MissingPermission):
    """`CreateAgent` refused with an AccessDenied that names no action and no reason.

    Bedrock answers the same way whether the caller lacks `bedrock:CreateAgent` or the account is
    not allowed to use Agents Classic (closed to new customers), and we cannot tell them apart from
    here: so the sentence names both, and the way out of the second one.
    """

    def __init__(self, detail: str) -> None:
        self.action = "bedrock:CreateAgent"
        DeployError.__init__(
            self,
            "Access denied for CreateAgent, for one of two reasons: the credentials you deploy with lack the "
            "IAM permission bedrock:CreateAgent, or this account is not allowed to use Amazon Bedrock Agents "
            f"(Agents Classic has been closed to new customers since 2026-07-30; AWS said: {detail}).",
            "Grant bedrock:CreateAgent and run the same command again; if the credentials already have it, "
            "deploy the same Lambda as an AgentCore Gateway target instead: add --target agentcore-gateway.",
        )


class AgentsClassicUnavailable(DeployError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "This account cannot create Amazon Bedrock Agents (Agents Classic has been closed to new "
            f"customers since 2026-07-30; AWS said: {detail}).",
            "Deploy the same Lambda as an AgentCore Gateway target instead: add --target agentcore-gateway.",
        )


class ModelAccessDenied(DeployError):
    def __init__(self, model: str, region: str, detail: str) -> None:
        super().__init__(
            f"The model {model} is not available to this account in {region} ({detail}).",
            "Enable access to it in the Amazon Bedrock console (Model access) for this Region, "
            "or pass another --model.",
        )


class WrongRegion(DeployError):
    def __init__(self, what: str, region: str, detail: str) -> None:
        super().__init__(
            f"{what} is not offered in {region} ({detail}).",
            "Pass a --region where Amazon Bedrock Agents and the model are available, such as us-east-1 "
            "or us-west-2, with a matching inference profile (us.*, eu.*, apac.*).",
        )


class QuotaExceeded(DeployError):
    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(
            f"{operation} hit a service quota ({detail}).",
            "Remove unused resources, or request a higher quota in the Service Quotas console; "
            "for an action group, keep to 11 operations per agent and 5 parameters per function.",
        )


class PrepareFailed(DeployError):
    def __init__(self, what: str, reasons: list[str], recommended: list[str] | None = None) -> None:
        self.reasons = reasons
        detail = "; ".join(reasons) or "no reason given"
        fix = "; ".join(recommended or []) or "Fix the reason above, then run the deploy again."
        super().__init__(f"{what} failed to prepare: {detail}.", fix)


class NotOurs(DeployError):
    def __init__(self, kind: str, name: str, tag: str) -> None:
        super().__init__(
            f"A {kind} named {name} already exists and was not created by this deploy (it has no {tag} tag).",
            "Choose another --agent-name, or delete or tag that resource yourself if it is a leftover.",
        )


class WaitTimedOut(DeployError):
    def __init__(self, what: str, seconds: float, last_status: str) -> None:
        super().__init__(
            f"Waited {seconds:.0f} s for {what} and it is still {last_status}.",
            "Check it in the AWS console; running the deploy again resumes where this one stopped.",
        )


class PackagingFailed(DeployError):
    pass


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API operation needs: `bedrock-agent` `CreateAgent` -> `bedrock:CreateAgent`."""
    return f"{_IAM_PREFIX.get(service, service)}:{operation}"


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).strip().rstrip(".")


def is_access_denied(exc: ClientError) -> bool:
    return error_code(exc) in _DENIED_CODES


def mentions_agents_classic_refusal(message: str) -> bool:
    lowered = message.lower()
    return any(hint in lowered for hint in _CLASSIC_HINTS)


def explain_client_error(
    exc: ClientError, service: str, operation: str, *, model: str = "", region: str = ""
) -> DeployError:
    """The most specific `DeployError` for a `ClientError` that `operation` of `service` raised.

    The order matters: a refusal to use Agents Classic and a missing model grant also arrive as
    AccessDenied or ValidationException, so the message is read before the code.
    """
    code = error_code(exc)
    message = error_message(exc) or code
    lowered = message.lower()
    if service == "bedrock-agent" and operation == "CreateAgent" and mentions_agents_classic_refusal(message):
        return AgentsClassicUnavailable(message)
    if model and any(hint in lowered for hint in _MODEL_ACCESS_HINTS):
        return ModelAccessDenied(model, region, message)
    if any(hint in lowered for hint in _REGION_HINTS) or code == "UnknownEndpoint":
        return WrongRegion(f"{operation} ({model or service})", region, message)
    if code in _QUOTA_CODES or "quota" in lowered or "limit exceeded" in lowered:
        return QuotaExceeded(operation, message)
    if code in _DENIED_CODES:
        return _access_denied(service, operation, message)
    return DeployError(f"{operation} failed: {code}: {message}.", "Fix the cause above and run the deploy again.")


def _access_denied(service: str, operation: str, message: str) -> MissingPermission:
    """The action AWS named, else the operation's own action (or both causes for CreateAgent)."""
    named = _NOT_AUTHORIZED.search(message)
    if named is None and service == "bedrock-agent" and operation == "CreateAgent":
        return CreateAgentDenied(message)
    action = named.group(1) if named else iam_action(service, operation)
    return MissingPermission(action, operation, "" if named else message)


@contextmanager
def translated(service: str, *, model: str = "", region: str = "") -> Iterator[None]:
    """Turn a `ClientError` from `service` inside the block into the matching `DeployError`."""
    try:
        yield
    except ClientError as exc:
        operation = str(getattr(exc, "operation_name", "") or "the call")
        raise explain_client_error(exc, service, operation, model=model, region=region) from exc
