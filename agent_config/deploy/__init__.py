"""Deployment of the Enhanced Security Agent: `deploy_enhanced_security_agent.py` is a thin entry point
to `cli.main`; everything else is here, one module per concern, so each is small and testable.

    cli.py              argparse, the four modes (deploy, --dry-run, --validate, --destroy), exit codes
    plan.py             pydantic plan: settings -> every resource's name, ARN and settings (no AWS call)
    iam.py              every IAM policy document, derived from the plan, the catalogue and the session store
    iam_data.py         the ARNs each catalogue read action can be scoped to (iam_resource_types.json)
    packaging.py        the reproducible Lambda zip, built by pip for the Lambda platform, cached
    resources.py        create-or-update (and delete) for IAM roles, DynamoDB, Logs, Secrets Manager, SSM
    function.py         the Lambda function and its resource policy for Bedrock
    bedrock_agent.py    agent, action group, prepare, alias (Agents Classic), with polling
    gateway.py          --target agentcore-gateway: AgentCore Gateway and its Lambda target
    validate.py         --validate checks, including the InvokeAgent trace parsing
    runner.py           the deploy and destroy sequences in dependency order
    progress.py         progress lines, polling and retries with an injected clock
    aws.py              the boto3 clients (endpoint override and stubbed clients for tests)
    errors.py           one-sentence errors a person can act on

Nothing here runs in the Lambda. (The gateway's event translation, which the handler uses, is
`agent_config.agentcore_gateway`.)
"""
