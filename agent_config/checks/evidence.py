"""Evidence: the AWS API responses the checks evaluate, whoever collected them.

The same evidence arrives through the AWS API MCP server's `call_aws` (each item's
`response.as_json`) or, when that server is down, through boto3 directly; both give the AWS API's
own response document, so evaluators never know which path was taken. A read that failed is kept
as evidence too, with its error code: an evaluator turns AccessDenied or an unsupported operation
into MANUAL naming what was missing, never into FAIL.

Calls are named the way the AWS CLI names them (`s3api get-bucket-policy --bucket NAME`), which is
what `call_aws` takes; the boto3 fallback maps the same names onto client methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

# Error codes that mean "this read is not possible here", as opposed to "the resource is fine".
PERMISSION_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "Forbidden"}
)
UNSUPPORTED_CODES = frozenset(
    {
        "NotImplemented",
        "UnsupportedOperation",
        "InvalidAction",
        "UnknownOperationException",
        "InternalFailure",
    }
)


class ApiCall(BaseModel):
    """One read-only AWS API call, in AWS CLI terms: `aws <service> <operation> --<name> <value>`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str = Field(description="AWS CLI service name, e.g. 's3api', 'ec2', 'iam'.")
    operation: str = Field(description="AWS CLI operation name, e.g. 'get-bucket-policy'.")
    parameters: tuple[tuple[str, str], ...] = Field(
        default=(), description="CLI parameters without the leading dashes, e.g. (('bucket', 'x'),)."
    )
    region: str | None = Field(default=None, description="None for global services (IAM, S3 listing).")

    @classmethod
    def of(cls, service: str, operation: str, region: str | None = None, **parameters: str) -> ApiCall:
        """`ApiCall.of("s3api", "get-bucket-policy", bucket="x")`; underscores become dashes."""
        return cls(
            service=service,
            operation=operation,
            region=region,
            parameters=tuple(sorted((k.replace("_", "-"), v) for k, v in parameters.items())),
        )

    @property
    def iam_action(self) -> str:
        """The IAM action this call needs (`s3api get-bucket-policy` -> `s3:GetBucketPolicy`)."""
        exception = _IAM_ACTION_EXCEPTIONS.get((self.service, self.operation))
        return exception or f"{_iam_prefix(self.service)}:{_iam_action(self.operation)}"

    def parameter(self, name: str) -> str | None:
        return dict(self.parameters).get(name)

    @property
    def label(self) -> str:
        params = " ".join(f"--{k} {v}" for k, v in self.parameters)
        return f"{self.service} {self.operation} {params}".strip()


class EvidenceItem(BaseModel):
    """What one call returned: the response document, or the error that stopped it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call: ApiCall
    response: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    source: str = Field(default="aws_api", description="'aws_api' (MCP server) or 'boto3' (direct fallback).")

    @property
    def ok(self) -> bool:
        return self.error_code is None and self.response is not None

    @property
    def permission_denied(self) -> bool:
        return self.error_code in PERMISSION_CODES

    @property
    def unsupported(self) -> bool:
        return self.error_code in UNSUPPORTED_CODES

    def missing_reason(self) -> str:
        """Why this evidence is missing, in words that name the permission or API (for MANUAL results)."""
        action = self.call.iam_action
        if self.permission_denied:
            return f"permission {action} was denied"
        if self.unsupported:
            return f"the API {action} is not available here"
        return f"{action} failed: {self.error_code or 'no response'}"


class Evidence(BaseModel):
    """All evidence gathered for one assessment, looked up by call.

    `get` is a dictionary lookup, not a scan: the collector asks it once per planned call every
    round, and a large account has thousands of calls over thousands of items (a linear scan made
    one round of 2,400 calls over 7,000 items take 18 s). `items` is append-only by contract; the
    index catches up with whatever was appended since the last lookup, however it was appended, and
    starts over if the list was replaced or shortened.
    """

    model_config = ConfigDict(extra="forbid")

    account_id: str
    items: list[EvidenceItem] = Field(default_factory=list)
    _positions: dict[ApiCall, int] = PrivateAttr(default_factory=dict)
    """Position in `items` of the first item for each call."""
    _indexed: tuple[int, int] = PrivateAttr(default=(0, 0))
    """(id of the list indexed, how many of its items are in `_positions`)."""

    def add(self, item: EvidenceItem) -> None:
        self.items.append(item)

    def extend(self, items: Iterable[EvidenceItem]) -> None:
        self.items.extend(items)

    def get(self, call: ApiCall) -> EvidenceItem | None:
        """The first item collected for `call` (the order a scan of `items` would find it in)."""
        position = self._index().get(call)
        if position is None:
            return None
        item = self.items[position]
        if item.call != call:  # an item was replaced in place: rebuild once, then trust the index
            self._indexed = (0, 0)
            position = self._index().get(call)
            return None if position is None else self.items[position]
        return item

    def _index(self) -> dict[ApiCall, int]:
        items = self.items
        list_id, count = self._indexed
        if list_id != id(items) or count > len(items):
            self._positions, count = {}, 0  # a new dict: a shallow model copy may share the old one
        positions = self._positions
        for position in range(count, len(items)):
            positions.setdefault(items[position].call, position)
        self._indexed = (id(items), len(items))
        return positions

    def find(self, service: str, operation: str, region: str | None = None) -> Iterator[EvidenceItem]:
        """Every item for an operation (all resources), optionally in one region."""
        for item in self.items:
            call = item.call
            same_operation = call.service == service and call.operation == operation
            if same_operation and (region is None or call.region == region):
                yield item


_IAM_PREFIXES = {
    "s3api": "s3",
    "s3control": "s3",
    "configservice": "config",
    "efs": "elasticfilesystem",
    "elbv2": "elasticloadbalancing",
}
# Actions whose names do not follow mechanically from the CLI names (ListAllMyBuckets, the
# account-level Block Public Access, and IAM and RDS spelling MFA and DB in capitals).
_IAM_ACTION_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("s3api", "list-buckets"): "s3:ListAllMyBuckets",
    ("s3api", "get-public-access-block"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "get-public-access-block"): "s3:GetAccountPublicAccessBlock",
    ("iam", "list-mfa-devices"): "iam:ListMFADevices",
    ("iam", "list-virtual-mfa-devices"): "iam:ListVirtualMFADevices",
    ("rds", "describe-db-instances"): "rds:DescribeDBInstances",
    ("rds", "describe-db-snapshots"): "rds:DescribeDBSnapshots",
    ("rds", "describe-db-snapshot-attributes"): "rds:DescribeDBSnapshotAttributes",
    ("rds", "describe-db-cluster-snapshots"): "rds:DescribeDBClusterSnapshots",
    ("rds", "describe-db-cluster-snapshot-attributes"): "rds:DescribeDBClusterSnapshotAttributes",
}


def _iam_prefix(cli_service: str) -> str:
    return _IAM_PREFIXES.get(cli_service, cli_service)


def _iam_action(cli_operation: str) -> str:
    return "".join(part.capitalize() for part in cli_operation.split("-"))
