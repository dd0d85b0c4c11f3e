"""What changed since the last assessment: a pure comparison of two assessments' fingerprints.

The rules (each finding is matched by fingerprint, i.e. control + resource + region):

| before            | now                                        | reported as      |
|-------------------|--------------------------------------------|------------------|
| not FAIL / absent | FAIL                                       | `new`            |
| FAIL              | FAIL                                       | `persisting`     |
| FAIL              | PASS or NOT_APPLICABLE                     | `resolved`       |
| FAIL              | absent, region and service covered now     | `resolved`       |
| FAIL              | absent, region or service not covered now  | `not_reassessed` |
| FAIL              | MANUAL                                     | `not_reassessed` |

Why the coverage rule: a finding that is absent because the second assessment looked at fewer
regions or services was not fixed, only not looked at; calling it resolved would be a false
comfort. A region is covered when the current assessment lists it (or lists no regions, or the
finding is global); a service is covered when the current assessment has any finding for a
control of that service (the part of the control id before the dot: `S3.8` is `S3`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from agent_config.interfaces import FindingStatus
from agent_config.session.models import FindingChanges, FindingFingerprint

GLOBAL_REGIONS = frozenset({"", "global", "aws-global"})
_RESOLVING = frozenset({FindingStatus.PASS, FindingStatus.NOT_APPLICABLE})


def service_of(control_id: str) -> str:
    return control_id.split(".", 1)[0].strip().upper()


def diff_fingerprints(
    previous: Sequence[FindingFingerprint],
    current: Sequence[FindingFingerprint],
    *,
    current_assessment_id: str,
    previous_assessment_id: str | None,
    current_regions: Collection[str] = (),
) -> FindingChanges:
    """Classify every finding failing in either assessment (see the table in the module docstring)."""
    before = {f.fingerprint: f for f in previous}
    now = {f.fingerprint: f for f in current}
    services_now = {service_of(f.control_id) for f in current}
    regions_now = set(current_regions)

    new: list[FindingFingerprint] = []
    resolved: list[FindingFingerprint] = []
    persisting: list[FindingFingerprint] = []
    not_reassessed: list[FindingFingerprint] = []

    for key, item in now.items():
        if item.status is not FindingStatus.FAIL:
            continue
        earlier = before.get(key)
        (persisting if earlier is not None and earlier.status is FindingStatus.FAIL else new).append(item)

    for key, earlier in before.items():
        if earlier.status is not FindingStatus.FAIL:
            continue
        later = now.get(key)
        if later is None:
            covered = _region_covered(earlier.region, regions_now) and service_of(earlier.control_id) in services_now
            (resolved if covered else not_reassessed).append(earlier)
        elif later.status in _RESOLVING:
            resolved.append(later)
        elif later.status is FindingStatus.MANUAL:
            not_reassessed.append(later)

    return FindingChanges(
        previous_assessment_id=previous_assessment_id,
        current_assessment_id=current_assessment_id,
        new=_ordered(new),
        resolved=_ordered(resolved),
        persisting=_ordered(persisting),
        not_reassessed=_ordered(not_reassessed),
    )


def _region_covered(region: str, regions_now: set[str]) -> bool:
    return not regions_now or region in GLOBAL_REGIONS or region in regions_now


def _ordered(items: Iterable[FindingFingerprint]) -> list[FindingFingerprint]:
    """Worst first (severity), then by control and resource, so answers list what matters first."""
    return sorted(items, key=lambda f: (-f.severity.rank, f.control_id, f.resource, f.region))
