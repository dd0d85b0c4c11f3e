"""The real AWS API MCP server (awslabs.aws-api-mcp-server 1.5.6), offline, against moto.

The server runs from its own virtual environment through `agent_config/sandbox/api_server_launcher.py`
(which replaces its one start-up download, see that module), over stdio, with the mcp 2.x client in
`mode="legacy"` (the server speaks mcp 1.x; legacy skips the `server/discover` probe).

"Offline" is made certain, not assumed: the server's environment sends every HTTP(S) request for a
non-loopback host to a local proxy that records the request line and hangs up (`NO_PROXY` keeps the
loopback moto server direct). So these tests behave the same on a machine with internet, and the
control test shows the unmodified entry point really does try to reach
servicereference.us-east-1.amazonaws.com and dies without it.

Shape of a `call_aws` result, as checked below (one text block holding a JSON list, also in
`structured_content["result"]`; one item per command, after `--region *` expansion)::

    [{"cli_command": "aws s3api list-buckets",
      "response": {"error": None, "status_code": 200, "error_code": None,
                   "pagination_token": None,
                   "as_json": "{\\"Buckets\\": [{\\"Name\\": ...}], \\"Owner\\": {...}}"},
      "metadata": {"service": "s3", "service_full_name": "Amazon Simple Storage Service",
                   "operation": "ListBuckets", "region_name": "us-east-1"},
      "validation_failures": None, "missing_context_failures": None, "failed_constraints": []}]

`response.as_json` is the API response as a JSON *string* (parse it again). A command the server
will not run has no `response`, only an `error`::

    [{"cli_command": "aws s3api delete-bucket --bucket b",
      "error": "Execution of this operation is denied by security policy."}]

and `is_error` is False for the tool call as a whole: read each item's `error`.
"""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from botocore.exceptions import ClientError
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

import agent_config.sandbox
from agent_config.sandbox import paths
from agent_config.sandbox.local_aws import SANDBOX_ACCOUNT_ID, LocalAws, local_aws

LAUNCHER = Path(agent_config.sandbox.__file__).resolve().parent / "api_server_launcher.py"
API_PYTHON = paths.aws_api_python()
API_CONSOLE_SCRIPT = paths.server_executable("aws-api", "awslabs.aws-api-mcp-server")

STARTUP_TIMEOUT_S = 60.0
CALLS_TIMEOUT_S = 120.0
SUBPROCESS_TIMEOUT_S = 60.0
DENIED = "Execution of this operation is denied by security policy."
SERVICE_REFERENCE_HOST = "servicereference.us-east-1.amazonaws.com"

BUCKET = "sandbox-api-server-bucket"
NEW_BUCKET = "sandbox-api-server-must-not-exist"
# Read-only calls the agent relies on, outside S3: allowed by the bundled metadata alone (batch mode).
READ_COMMANDS = [
    "aws sts get-caller-identity",
    "aws iam list-users",
    "aws ec2 describe-security-groups",
]
MUTATING_COMMANDS = (
    f"aws s3api create-bucket --bucket {NEW_BUCKET}",
    f"aws s3api delete-bucket --bucket {BUCKET}",
    f"aws s3api put-bucket-tagging --bucket {BUCKET} --tagging TagSet=[{{Key=k,Value=v}}]",
    f"aws s3 mb s3://{NEW_BUCKET}",
    f"aws s3 rb s3://{BUCKET}",
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _server_environment_present() -> None:
    """A missing environment is a broken set-up, not a reason to pass quietly: `make setup` builds it."""
    for needed in (API_PYTHON, API_CONSOLE_SCRIPT):
        if not needed.exists():
            pytest.fail(f"no AWS API server environment ({needed} is missing): run `make setup`")


# --- a proxy that refuses everything: the server's only way out -----------------------------------


class _RefusingProxyHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            first_line = self.request.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        except OSError:
            first_line = "<nothing read>"
        self.server.requests.append(first_line)  # type: ignore[attr-defined]
        # closing without answering: requests/httpx/botocore fail at once with a proxy error


class RefusingProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RefusingProxyHandler)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def env(self) -> dict[str, str]:
        no_proxy = "127.0.0.1,localhost"
        return {
            "HTTP_PROXY": self.url,
            "HTTPS_PROXY": self.url,
            "http_proxy": self.url,
            "https_proxy": self.url,
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }


@pytest.fixture(scope="module")
def proxy() -> Iterator[RefusingProxy]:
    server = RefusingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# --- the local AWS and the server's environment ---------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with local_aws() as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        yield local


def bucket_names(aws: LocalAws) -> set[str]:
    return {bucket["Name"] for bucket in aws.client("s3").list_buckets()["Buckets"]}


def server_env(aws: LocalAws, proxy: RefusingProxy, root: Path) -> dict[str, str]:
    home = root / "home"
    workdir = root / "workdir"
    home.mkdir(parents=True, exist_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    return {
        **aws.env(),
        **proxy.env(),
        "READ_OPERATIONS_ONLY": "true",
        "AWS_API_MCP_TELEMETRY": "false",
        "AWS_API_MCP_WORKING_DIR": str(workdir),
        "AWS_REGION": aws.region,
        "HOME": str(home),
    }


# --- one server session, shared by the checks below ------------------------------------------------


@dataclass
class ApiServerSession:
    startup_seconds: float
    tools: dict[str, Any]
    list_buckets: Any
    list_buckets_structured: Any
    list_buckets_is_error: bool | None
    batch: Any
    refused: dict[str, Any] = field(default_factory=dict)
    buckets_before: set[str] = field(default_factory=set)
    buckets_after: set[str] = field(default_factory=set)
    proxy_requests: list[str] = field(default_factory=list)
    errlog: str = ""


def _json_payload(result: Any) -> Any:
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    assert len(texts) == 1, f"expected one text block, got {result.content!r}"
    return json.loads(texts[0])


async def _call_aws(client: Client, cli_command: str | list[str]) -> Any:
    return _json_payload(await client.call_tool("call_aws", {"cli_command": cli_command}))


async def _drive_server(params: StdioServerParameters, errlog_path: Path, aws: LocalAws) -> ApiServerSession:
    buckets_before = bucket_names(aws)
    with errlog_path.open("w", encoding="utf-8") as errlog:
        started = time.perf_counter()
        # One deadline: first for start-up (spawn, import, index, initialize, tools/list), then
        # moved forward for the calls. (A second `fail_after` cannot wrap the `async with`: the
        # client's task group must not outlive a cancel scope opened around it.)
        with anyio.fail_after(STARTUP_TIMEOUT_S) as deadline:
            async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
                tools = {tool.name: tool for tool in (await client.list_tools()).tools}
                startup_seconds = time.perf_counter() - started
                deadline.deadline = anyio.current_time() + CALLS_TIMEOUT_S

                listed = await client.call_tool("call_aws", {"cli_command": "aws s3api list-buckets"})
                batch = await _call_aws(client, READ_COMMANDS)
                refused = {command: await _call_aws(client, command) for command in MUTATING_COMMANDS}
    return ApiServerSession(
        startup_seconds=startup_seconds,
        tools=tools,
        list_buckets=_json_payload(listed),
        list_buckets_structured=listed.structured_content,
        list_buckets_is_error=listed.is_error,
        batch=batch,
        refused=refused,
        buckets_before=buckets_before,
        buckets_after=bucket_names(aws),
        errlog=errlog_path.read_text(encoding="utf-8"),
    )


@pytest.fixture(scope="module")
def api_session(aws: LocalAws, proxy: RefusingProxy, tmp_path_factory: pytest.TempPathFactory) -> ApiServerSession:
    root = tmp_path_factory.mktemp("aws-api-server")
    params = StdioServerParameters(
        command=str(API_PYTHON), args=[str(LAUNCHER)], env=server_env(aws, proxy, root), cwd=str(root)
    )
    proxy.requests.clear()
    session = anyio.run(_drive_server, params, root / "server-stderr.log", aws)
    session.proxy_requests = list(proxy.requests)
    print(f"\nAWS API MCP server start-up (spawn to tools/list answered): {session.startup_seconds:.2f} s")
    print(f"outbound requests the server attempted: {session.proxy_requests or 'none'}")
    return session


# --- the checks --------------------------------------------------------------------------------------


def test_server_starts_offline_within_bound(api_session: ApiServerSession) -> None:
    assert api_session.startup_seconds < STARTUP_TIMEOUT_S
    # The substituted fetch was never attempted, and nothing else left the machine either.
    assert not any(SERVICE_REFERENCE_HOST in line for line in api_session.proxy_requests)
    assert api_session.proxy_requests == []
    assert "refusing to start" not in api_session.errlog


def test_lists_call_aws_with_cli_command(api_session: ApiServerSession) -> None:
    assert "call_aws" in api_session.tools
    schema = api_session.tools["call_aws"].input_schema
    assert "cli_command" in schema["properties"]
    assert "cli_command" in schema.get("required", [])
    annotations = api_session.tools["call_aws"].annotations
    assert annotations is not None
    assert annotations.read_only_hint is True  # the server itself reports read-only mode


def test_call_aws_list_buckets_returns_the_moto_bucket(api_session: ApiServerSession) -> None:
    payload = api_session.list_buckets
    assert api_session.list_buckets_is_error is False
    assert api_session.list_buckets_structured == {"result": payload}
    assert isinstance(payload, list)
    assert len(payload) == 1  # one item per command
    (item,) = payload
    assert item["cli_command"] == "aws s3api list-buckets"
    assert "error" not in item
    response = item["response"]
    assert response["error"] is None
    assert response["status_code"] == 200
    assert item["metadata"]["service"] == "s3"
    assert item["metadata"]["operation"] == "ListBuckets"
    listed = json.loads(response["as_json"])  # the API response, as a JSON string
    assert BUCKET in {bucket["Name"] for bucket in listed["Buckets"]}


def test_call_aws_batch_of_read_only_commands_runs(api_session: ApiServerSession) -> None:
    assert [item["cli_command"] for item in api_session.batch] == READ_COMMANDS
    for item in api_session.batch:
        assert "error" not in item, item
        assert item["response"]["error"] is None
        assert item["response"]["status_code"] == 200
        assert isinstance(json.loads(item["response"]["as_json"]), dict)
    identity = json.loads(api_session.batch[0]["response"]["as_json"])
    assert identity["Account"] == SANDBOX_ACCOUNT_ID  # moto, not a real account


@pytest.mark.parametrize("command", MUTATING_COMMANDS)
def test_mutating_command_is_refused(api_session: ApiServerSession, command: str) -> None:
    payload = api_session.refused[command]
    assert payload == [{"cli_command": command, "error": DENIED}]


def test_moto_is_unchanged_after_refused_commands(api_session: ApiServerSession, aws: LocalAws) -> None:
    assert api_session.buckets_after == api_session.buckets_before
    assert BUCKET in api_session.buckets_after
    assert NEW_BUCKET not in api_session.buckets_after
    with pytest.raises(ClientError) as no_tags:  # put-bucket-tagging was refused too
        aws.client("s3").get_bucket_tagging(Bucket=BUCKET)
    assert no_tags.value.response["Error"]["Code"] == "NoSuchTagSet"


# --- the launcher's own guards, and the reason it exists ---------------------------------------------


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize("read_only", [None, "", "false", "1", "yes", "TRUE "])
def test_launcher_refuses_without_read_only_true(
    aws: LocalAws, proxy: RefusingProxy, tmp_path: Path, read_only: str | None
) -> None:
    env = server_env(aws, proxy, tmp_path)
    if read_only is None:
        del env["READ_OPERATIONS_ONLY"]
    else:
        env["READ_OPERATIONS_ONLY"] = read_only
    done = _run([str(API_PYTHON), str(LAUNCHER)], env, tmp_path)
    assert done.returncode == 2
    assert "refusing to start" in done.stderr
    assert "READ_OPERATIONS_ONLY must be set to 'true'" in done.stderr
    assert done.stdout == ""
    # Refused before importing the server: it never got to create its log under ~/.aws.
    assert not (tmp_path / "home" / ".aws").exists()


def test_launcher_refuses_other_transports(aws: LocalAws, proxy: RefusingProxy, tmp_path: Path) -> None:
    env = server_env(aws, proxy, tmp_path) | {"AWS_API_MCP_TRANSPORT": "streamable-http"}
    done = _run([str(API_PYTHON), str(LAUNCHER)], env, tmp_path)
    assert done.returncode == 2
    assert "AWS_API_MCP_TRANSPORT must be 'stdio'" in done.stderr


def test_unpatched_server_still_refuses_to_start_offline(aws: LocalAws, proxy: RefusingProxy, tmp_path: Path) -> None:
    """The launcher's reason to exist. When this fails, the server starts offline on its own:
    start the console script directly and delete the launcher (see its docstring)."""
    proxy.requests.clear()
    done = _run([str(API_CONSOLE_SCRIPT)], server_env(aws, proxy, tmp_path), tmp_path)
    assert done.returncode != 0
    assert "Error retrieving the service reference document" in done.stderr
    assert any(SERVICE_REFERENCE_HOST in line for line in proxy.requests)
