"""Masking: secrets seeded into log calls never come out, in keys, values, text or exceptions."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from agent_config.utils.logging_utils import bind_request, configure_logging, get_logger, mask_text

ACCESS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
TEMP_KEY_ID = "ASIA" + "Y34FZKBOKMUTVV7A"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr" + "a" * 200 + "=="
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl"
DB_PASSWORD = "s3cr3t-Db-pass"
SECRETS = [ACCESS_KEY_ID, TEMP_KEY_ID, SECRET_KEY, SESSION_TOKEN, JWT, "hunter2-password!", DB_PASSWORD]


@pytest.fixture
def captured() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield stream
    configure_logging("WARNING")


def _assert_clean(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, f"{secret[:8]}... leaked"


def test_secrets_in_structured_fields_are_masked(captured: io.StringIO) -> None:
    log = get_logger("test")
    log.info(
        "credentials_loaded",
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        nested={"Authorization": f"Bearer {JWT}", "password": "hunter2-password!", "region": "us-east-1"},
    )

    output = captured.getvalue()
    _assert_clean(output)
    line = json.loads(output.strip().splitlines()[-1])
    assert line["nested"]["region"] == "us-east-1"
    assert line["aws_secret_access_key"] == "***"


def test_secrets_inside_free_text_are_masked(captured: io.StringIO) -> None:
    get_logger("test").warning(
        f"server said: key={ACCESS_KEY_ID} secret_access_key={SECRET_KEY} token: {SESSION_TOKEN} "
        f"Authorization: Bearer {JWT} temp {TEMP_KEY_ID} password=hunter2-password!"
    )

    _assert_clean(captured.getvalue())


@pytest.mark.parametrize(
    "text",
    [
        f"postgres://admin:{DB_PASSWORD}@acme-reporting-db:5432/reports",
        "Authorization: Basic YWRtaW46" + DB_PASSWORD.encode().hex(),
        f"aws rds create-db-instance --master-user-password {DB_PASSWORD} --db-instance-identifier x",
        f"aws secretsmanager put-secret-value --secret-string='{DB_PASSWORD}'",
        f'{{"Name": "prod/db", "SecretString": "{DB_PASSWORD}", "VersionId": "v1"}}',
        f"{{'client_secret': '{DB_PASSWORD}'}}",
    ],
    ids=["url-password", "basic-auth", "cli-option", "cli-option-quoted", "json-member", "python-repr"],
)
def test_secrets_in_urls_cli_options_and_quoted_members_are_masked(captured: io.StringIO, text: str) -> None:
    get_logger("test").warning("server said", detail=text)

    output = captured.getvalue()
    _assert_clean(output)
    assert "YWRtaW46" not in output


def test_masking_keeps_the_context_a_reader_needs() -> None:
    masked = mask_text(
        f'postgres://admin:{DB_PASSWORD}@db:5432 {{"SecretId": "prod/db", "SecretString": "{DB_PASSWORD}"}}'
        " aws secretsmanager describe-secret --secret-id prod/db"
    )

    assert masked == (
        'postgres://admin:***@db:5432 {"SecretId": "prod/db", "SecretString": "***"}'
        " aws secretsmanager describe-secret --secret-id prod/db"
    )


def test_secrets_in_exception_tracebacks_are_masked(captured: io.StringIO) -> None:
    try:
        raise RuntimeError(f"connect failed with {ACCESS_KEY_ID}:{SECRET_KEY}")
    except RuntimeError:
        get_logger("test").exception("boom")

    output = captured.getvalue()
    _assert_clean(output)
    assert "RuntimeError" in output


def test_standard_library_loggers_are_masked_too(captured: io.StringIO) -> None:
    logging.getLogger("botocore.credentials").warning("found keys %s %s", ACCESS_KEY_ID, SECRET_KEY)

    _assert_clean(captured.getvalue())


def test_request_and_session_ids_are_on_every_line(captured: io.StringIO) -> None:
    bind_request("req-123", "session-abc")
    get_logger("test").info("one")
    get_logger("test").info("two")

    lines = [json.loads(line) for line in captured.getvalue().strip().splitlines()]
    assert all(line["request_id"] == "req-123" and line["session_id"] == "session-abc" for line in lines)


def test_ordinary_text_survives_masking() -> None:
    text = "GuardDuty is not enabled in us-east-1; see https://docs.aws.amazon.com/guardduty/latest/ug/"

    assert mask_text(text) == text


def test_default_output_follows_the_current_standard_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN logging set up for standard error, then standard error replaced (a redirect, a capture)
    configure_logging("INFO", to_stderr=True)
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    get_logger("test").info("one")
    first.close()
    monkeypatch.setattr("sys.stderr", second)

    # WHEN a line is logged after the first stream was closed
    get_logger("test").info("two")
    configure_logging("WARNING")

    # THEN it reaches the stream in place now, and nothing is written to the closed one
    assert '"event": "two"' in second.getvalue()


def test_lines_logged_before_any_set_up_are_masked_too() -> None:
    # GIVEN a fresh interpreter where nobody has called configure_logging
    code = (
        "from agent_config.utils.logging_utils import get_logger; "
        f"get_logger('early').warning('imported', key='{ACCESS_KEY_ID}', secret='{SECRET_KEY}')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    # THEN the line is there, masked
    assert '"event": "imported"' in done.stdout
    _assert_clean(done.stdout + done.stderr)
