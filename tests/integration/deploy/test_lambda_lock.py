"""The committed Lambda locks against pip's resolution of requirements.txt today (needs the package
index): each lock names exactly the distributions requirements.txt resolves to for its platform,
so nothing is missing (pip would refuse the build) and nothing is left over from an older set.

Versions may differ (a newer release within a range is not a stale lock: the lock is what keeps
the package from picking it up); names must not. Regenerate with `make lambda-lock`.
"""

from __future__ import annotations

import pytest

from agent_config.deploy.lock import parse_lock, resolve
from agent_config.deploy.packaging import project_root
from agent_config.deploy.plan import Architecture, lock_file

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("arch", list(Architecture))
def test_the_lock_names_exactly_what_requirements_txt_resolves_to(arch: Architecture) -> None:
    root = project_root()
    locked = parse_lock((root / lock_file(arch)).read_text(encoding="utf-8"), lock_file(arch))

    resolved = {pin.name for pin in resolve(root, arch)}

    assert set(locked) == resolved, (
        f"{lock_file(arch)}: missing {sorted(resolved - set(locked))}, left over {sorted(set(locked) - resolved)}; "
        "run `make lambda-lock`"
    )
    assert all(pin.hashes for pin in locked.values())
