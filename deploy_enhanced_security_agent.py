#!/usr/bin/env python3
"""Deploy the Enhanced Security Agent to AWS (Lambda, IAM roles, DynamoDB, SSM, Bedrock agent).

Not built yet: deployment is its own piece of work (see the project's issues). Until then this
script refuses clearly instead of half-creating resources, and exits non-zero so no automation
mistakes it for a successful deploy. The agent can be run locally today: `make demo`.
"""

from __future__ import annotations

import sys

NOT_YET = (
    "deploy_enhanced_security_agent.py: deployment is not implemented yet.\n"
    "Nothing was created or changed in any AWS account.\n"
    "Run the agent locally instead: `make demo` (sandbox) or "
    "`.venv/bin/security-agent lambda-invoke --event <bedrock-event.json>`.\n"
)


def main(argv: list[str] | None = None) -> int:
    del argv  # every option is refused the same way until deployment exists
    sys.stderr.write(NOT_YET)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
