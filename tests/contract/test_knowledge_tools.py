"""The offline Knowledge server speaks the remote AWS Knowledge server's tools and result shapes.

The expectations below are written down independently of the implementation, from the remote
server's own `tools/list` (an anonymous probe recorded on 2026-09-01) and from AWS's clients that
parse its answers (see the module docstring of `agent_config.knowledge.server` for the sources).
Every call goes through a real MCP client connected in-process, each bounded by a timeout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent, Tool

from agent_config.knowledge.server import build_server

CALL_TIMEOUT_SECONDS = 10
SUBPROCESS_TIMEOUT_SECONDS = 30

REMOTE_ARGUMENTS: dict[str, set[str]] = {
    "aws___search_documentation": {"search_phrase", "limit", "topics"},
    "aws___read_documentation": {"requests"},
    "aws___list_regions": set(),
    "aws___get_regional_availability": {"regions", "resource_type", "filters", "next_token", "region"},
    "aws___retrieve_skill": {"skill_name", "file"},
}
REMOTE_REQUIRED: dict[str, set[str]] = {
    "aws___search_documentation": {"search_phrase"},
    "aws___read_documentation": set(),
    "aws___list_regions": set(),
    "aws___get_regional_availability": {"resource_type"},
    "aws___retrieve_skill": {"skill_name"},
}
OLDER_FORM_ARGUMENTS: dict[str, set[str]] = {
    # The single-page form the project's reference documents; the offline server keeps accepting it.
    "aws___read_documentation": {"url", "max_length", "start_index"},
}
SEARCH_ITEM_KEYS = {"rank_order", "url", "title", "context"}
READ_SUCCESS_KEYS = {"status", "url", "content", "total_length", "start_index", "end_index", "truncated"}
READ_ERROR_CODES = {"not_found", "invalid_url", "throttled", "downstream_error", "validation_error"}
AVAILABILITY_STATUSES = {"isAvailableIn", "isNotAvailableIn", "isPlannedIn", "Not Found"}
KNOWN_CONTROL_PAGE = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-8"


def list_tools() -> dict[str, Tool]:
    async def run() -> list[Tool]:
        with anyio.fail_after(CALL_TIMEOUT_SECONDS):
            async with Client(build_server()) as client:
                return (await client.list_tools()).tools

    return {tool.name: tool for tool in anyio.run(run)}


def call_raw(tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async def run() -> CallToolResult:
        with anyio.fail_after(CALL_TIMEOUT_SECONDS):
            async with Client(build_server()) as client:
                return await client.call_tool(tool, arguments)

    return anyio.run(run)


def call(tool: str, arguments: dict[str, Any]) -> tuple[CallToolResult, dict[str, Any]]:
    """Call one tool; return the raw result and its JSON payload (the remote's single text block)."""
    result = call_raw(tool, arguments)
    assert len(result.content) == 1
    block = result.content[0]
    assert isinstance(block, TextContent)
    payload = json.loads(block.text)
    assert isinstance(payload, dict)
    return result, payload


def result_of(payload: dict[str, Any]) -> Any:
    assert "errorMessage" not in payload, payload
    return payload["content"]["result"]


def call_read_rest(url: str, start_index: int) -> str:
    _, payload = call("aws___read_documentation", {"requests": [{"url": url, "start_index": start_index}]})
    page: str = result_of(payload)[0]["content"]
    return page


@pytest.fixture(scope="module")
def tools() -> dict[str, Tool]:
    return list_tools()


# ---------------------------------------------------------------------------------------------
# tools/list
# ---------------------------------------------------------------------------------------------


def test_the_tool_names_are_the_remote_servers(tools: dict[str, Tool]) -> None:
    assert set(tools) == set(REMOTE_ARGUMENTS)


@pytest.mark.parametrize("name", sorted(REMOTE_ARGUMENTS))
def test_each_tool_takes_the_remote_arguments_and_requires_what_the_remote_requires(
    tools: dict[str, Tool], name: str
) -> None:
    schema = tools[name].input_schema
    arguments = set(schema.get("properties", {}))

    assert REMOTE_ARGUMENTS[name] <= arguments
    assert arguments - REMOTE_ARGUMENTS[name] <= OLDER_FORM_ARGUMENTS.get(name, set())
    assert set(schema.get("required", [])) == REMOTE_REQUIRED[name]


def test_a_read_request_item_takes_url_max_length_and_start_index(tools: dict[str, Tool]) -> None:
    schema = tools["aws___read_documentation"].input_schema
    item_ref = json.dumps(schema["properties"]["requests"])
    item = next(definition for name, definition in schema["$defs"].items() if name in item_ref)

    assert set(item["properties"]) == {"url", "max_length", "start_index"}
    assert item["required"] == ["url"]


@pytest.mark.parametrize("name", sorted(REMOTE_ARGUMENTS))
def test_every_tool_is_annotated_read_only_and_closed_world(tools: dict[str, Tool], name: str) -> None:
    annotations = tools[name].annotations

    assert annotations is not None
    assert annotations.read_only_hint is True
    assert annotations.destructive_hint is False
    assert annotations.open_world_hint is False


# ---------------------------------------------------------------------------------------------
# aws___search_documentation
# ---------------------------------------------------------------------------------------------


def test_search_answers_ranked_items_with_exactly_the_remote_fields() -> None:
    result, payload = call("aws___search_documentation", {"search_phrase": "S3 block public access", "limit": 5})
    items = result_of(payload)

    assert result.is_error is False
    assert result.structured_content is None
    assert [item["rank_order"] for item in items] == [1, 2, 3, 4, 5]
    for item in items:
        assert set(item) == SEARCH_ITEM_KEYS
        assert item["url"].startswith("https://")
        assert item["title"]
        assert item["context"]


def test_search_defaults_to_four_results_and_the_general_topic() -> None:
    _, payload = call("aws___search_documentation", {"search_phrase": "encryption at rest"})

    assert len(result_of(payload)) == 4


def test_search_with_only_topics_the_corpus_lacks_answers_an_empty_list() -> None:
    _, payload = call("aws___search_documentation", {"search_phrase": "S3", "topics": ["cdk_constructs"]})

    assert result_of(payload) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"search_phrase": "   "}, "must not be empty"),
        ({"search_phrase": "S3", "topics": ["security"]}, "unknown topics"),
        (
            {"search_phrase": "S3", "topics": ["general", "troubleshooting", "cloudformation", "cdk_docs"]},
            "at most 3",
        ),
        ({"search_phrase": "S3", "limit": 0}, "limit must be between"),
    ],
)
def test_search_refuses_bad_arguments_with_an_error_message(arguments: dict[str, Any], message: str) -> None:
    result, payload = call("aws___search_documentation", arguments)

    assert result.is_error is False
    assert set(payload) == {"errorMessage"}
    assert message in payload["errorMessage"]


# ---------------------------------------------------------------------------------------------
# aws___read_documentation
# ---------------------------------------------------------------------------------------------


def test_read_with_requests_answers_one_remote_shaped_item_per_page() -> None:
    requests = [
        {"url": KNOWN_CONTROL_PAGE},
        {
            "url": "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html",
            "max_length": 200,
        },
        {"url": "https://docs.aws.amazon.com/nothing/here.html"},
        {"url": "https://example.com/page.html"},
    ]
    _, payload = call("aws___read_documentation", {"requests": requests})
    known, whole_page, unknown, foreign = result_of(payload)

    assert set(known) == READ_SUCCESS_KEYS
    assert known["status"] == "SUCCESS"
    assert "IMDSv2" in known["content"]
    assert "remote AWS Knowledge server" in known["content"]
    assert known["truncated"] is False
    assert known["end_index"] == known["total_length"]
    assert whole_page["truncated"] is True
    assert len(whole_page["content"]) == whole_page["end_index"] == 200
    assert "[S3.8]" in call_read_rest(whole_page["url"], 200)
    assert (unknown["status"], unknown["error_code"]) == ("ERROR", "not_found")
    assert (foreign["status"], foreign["error_code"]) == ("ERROR", "invalid_url")
    assert {unknown["error_code"], foreign["error_code"]} <= READ_ERROR_CODES


def test_read_with_a_single_url_answers_the_markdown_string() -> None:
    result, payload = call("aws___read_documentation", {"url": KNOWN_CONTROL_PAGE})
    page = result_of(payload)

    assert result.is_error is False
    assert isinstance(page, str)
    assert page.startswith("# [EC2.8]")
    assert "The full page needs the remote AWS Knowledge server" in page


def test_read_of_an_unknown_single_url_answers_an_error_message_not_an_exception() -> None:
    result, payload = call("aws___read_documentation", {"url": "https://docs.aws.amazon.com/nothing/here.html"})

    assert result.is_error is False
    assert payload["errorMessage"].startswith("not_found:")
    assert "remote AWS Knowledge server" in payload["errorMessage"]


def test_read_without_pages_answers_an_error_message() -> None:
    _, payload = call("aws___read_documentation", {})

    assert "requests is required" in payload["errorMessage"]


# ---------------------------------------------------------------------------------------------
# aws___list_regions, aws___get_regional_availability, aws___retrieve_skill
# ---------------------------------------------------------------------------------------------


def test_list_regions_answers_region_ids_with_long_names_and_says_it_is_offline() -> None:
    _, payload = call("aws___list_regions", {})
    regions = result_of(payload)

    assert {"region_id": "us-east-1", "region_long_name": "US East (N. Virginia)"} in regions
    assert all(set(region) == {"region_id", "region_long_name"} for region in regions)
    assert "Offline approximation" in payload["notice"]


def test_availability_for_one_region_maps_each_name_to_a_status() -> None:
    arguments = {
        "resource_type": "product",
        "regions": ["eu-west-1"],
        "filters": ["AWS Lambda", "Amazon GuardDuty"],
    }
    _, payload = call("aws___get_regional_availability", arguments)

    assert result_of(payload) == {"products": {"AWS Lambda": "isAvailableIn", "Amazon GuardDuty": "isAvailableIn"}}
    assert "Offline approximation" in payload["notice"]


def test_availability_for_several_regions_maps_each_name_to_regions() -> None:
    arguments = {
        "resource_type": "api",
        "regions": ["us-east-1", "ap-southeast-2"],
        "filters": ["EC2+DescribeInstances"],
    }
    _, payload = call("aws___get_regional_availability", arguments)
    statuses = result_of(payload)["service_apis"]["EC2+DescribeInstances"]

    assert set(statuses) == {"us-east-1", "ap-southeast-2"}
    assert set(statuses.values()) <= AVAILABILITY_STATUSES


def test_availability_of_cloudformation_types_uses_the_cfn_resources_key() -> None:
    arguments = {
        "resource_type": "cfn",
        "regions": ["us-east-1"],
        "filters": ["AWS::KMS::Key", "AWS::Nope::Thing"],
    }
    _, payload = call("aws___get_regional_availability", arguments)

    assert result_of(payload) == {"cfn_resources": {"AWS::KMS::Key": "isAvailableIn", "AWS::Nope::Thing": "Not Found"}}


def test_availability_still_accepts_the_older_single_region_argument() -> None:
    arguments = {"resource_type": "product", "region": "us-east-1", "filters": ["AWS Security Hub"]}
    _, payload = call("aws___get_regional_availability", arguments)

    assert result_of(payload) == {"products": {"AWS Security Hub": "isAvailableIn"}}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"resource_type": "service", "regions": ["us-east-1"]}, "resource_type must be one of"),
        ({"resource_type": "product", "regions": ["us-east-1", "eu-west-1"]}, "need filters"),
        ({"resource_type": "product"}, "regions is required"),
        ({"resource_type": "product", "regions": ["us-east-1"], "next_token": "abc"}, "next_token"),
    ],
)
def test_availability_refuses_bad_requests_with_an_error_message(arguments: dict[str, Any], message: str) -> None:
    result, payload = call("aws___get_regional_availability", arguments)

    assert result.is_error is False
    assert message in payload["errorMessage"]


def test_retrieve_skill_says_skills_need_the_remote_server() -> None:
    result, payload = call("aws___retrieve_skill", {"skill_name": "aws-security-assessment"})

    assert result.is_error is False
    assert "remote AWS Knowledge server" in payload["errorMessage"]


def test_a_missing_required_argument_is_refused_by_the_server() -> None:
    result = call_raw("aws___search_documentation", {})

    assert result.is_error is True


def test_python_dash_m_serves_the_same_tools_over_stdio() -> None:
    server = StdioServerParameters(command=sys.executable, args=["-m", "agent_config.knowledge"])

    async def run() -> tuple[list[str], CallToolResult]:
        with anyio.fail_after(SUBPROCESS_TIMEOUT_SECONDS):
            async with Client(server) as client:
                names = [tool.name for tool in (await client.list_tools()).tools]
                found = await client.call_tool("aws___search_documentation", {"search_phrase": "IMDSv2", "limit": 1})
                return names, found

    names, found = anyio.run(run)
    block = found.content[0]

    assert set(names) == set(REMOTE_ARGUMENTS)
    assert isinstance(block, TextContent)
    assert json.loads(block.text)["content"]["result"][0]["url"].endswith("ec2-controls.html#ec2-8")
