#!/usr/bin/env python3
"""Deploy the Enhanced Security Agent to AWS, validate it, or remove it.

    python deploy_enhanced_security_agent.py --region us-east-1                 # deploy (idempotent)
    python deploy_enhanced_security_agent.py --region us-east-1 --dry-run      # the plan, no changes
    python deploy_enhanced_security_agent.py --region us-east-1 --validate --agent-id ID [--alias-id ID]
    python deploy_enhanced_security_agent.py --region us-east-1 --destroy [--yes]
    python deploy_enhanced_security_agent.py --target agentcore-gateway ...  # no Agents Classic

Everything lives in `agent_config/deploy/` (plan, IAM documents, packaging, one module per kind of
resource, validation, destroy); this file stays a thin entry point so the seed's command keeps working.
"""

from __future__ import annotations

import sys

from agent_config.deploy.cli import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
