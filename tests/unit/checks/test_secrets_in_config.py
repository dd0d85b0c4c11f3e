"""Secrets in configuration (ESA.1, ESA.2): what the detector reports, what it must leave alone, how
user data is decoded, and that no value it finds ever leaves in a result, an answer or a log line.

The golden files (`golden/secrets_in_config/`) cover the module end to end on moto's evidence; these
are the rules, case by case, including the false-positive traps real configurations are full of.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_config.checks import registry
from agent_config.checks.catalogue import Control, load_catalogue
from agent_config.checks.evidence import ApiCall, Evidence, EvidenceItem
from agent_config.checks.findings import findings_from_results
from agent_config.checks.services import secrets_in_config as sic
from agent_config.integrations.read_only_guard import check_call, cli_command
from agent_config.interfaces import FindingStatus
from agent_config.response.engine import AnswerEngine
from agent_config.response.synthesizer import SecuritySynthesizer
from agent_config.utils.error_handling import InvalidInput
from agent_config.utils.logging_utils import configure_logging, get_logger

ACCOUNT = "123456789012"
REGION = "us-east-1"
GOLDEN = Path(__file__).parent / "golden" / "secrets_in_config"
EXAMPLE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
"""AWS's documented example secret key (split, as in test_logging_utils, so no source line holds it)."""
PLANTED = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": EXAMPLE_SECRET_KEY,
    "DB_PASSWORD": "Acme-Unit-Pw-q8w2e4r6",
}
PLANTED_USER_DATA = "#!/bin/bash\nexport ADMIN_PASSWORD='Acme-Unit-Ud-z1x3c5v7'\nexport API_KEY=acme-unit-key-9h8g7f\n"
NEVER_SHOWN = [*PLANTED.values(), "Acme-Unit-Ud-z1x3c5v7", "acme-unit-key-9h8g7f"]


def kinds(variables: dict[str, str]) -> dict[str, str]:
    return {s.name or s.where: s.kind for s in sic.find_in_variables(variables)}


def b64(data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


# ---------------------------------------------------------------------------------------------
# Environment variables: true positives
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
        ("TEMP_KEY_ID", "ASIAIOSFODNN7EXAMPLE", "AWS access key id"),
        ("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_KEY, "AWS secret access key"),
        ("SIGNER", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "private key"),
        ("SESSION", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJlLXZhbHVl", "JSON web token"),
        ("DATABASE_URL", "postgres://app:Acme-Pw-1@db.internal:5432/app", "password in a URL"),
        ("GITHUB_PAT", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "access token"),
        ("DB_PASSWORD", "Acme-Billing-Pw-7f3k9q2z", "password"),
        ("dbPassword", "hunter2hunter2", "password"),
        ("db-passwd", "hunter2", "password"),
        ("SMTP_PASS", "mail-pass-77", "password"),
        ("STRIPE_API_KEY", "acme-test-key-123", "API key"),
        ("X_APIKEY", "k-123456", "API key"),
        ("CLIENT_SECRET", "0a1b2c3d", "secret"),
        ("JWT_SECRET", "changeme", "secret"),
        ("SECRET_KEY_BASE", "abc123def456", "secret"),
        ("SLACK_BOT_TOKEN", "acme-bot-token-1", "token"),
        ("GOOGLE_CREDENTIALS", "service-account-blob", "credentials"),
        ("BASIC_AUTH", "admin:admin", "credentials"),
        ("SIGNING_KEY", "k3y-m4t3r14l", "key"),
        ("JAVA_TOOL_OPTIONS", "-Ddb.password=hunter22 -Xmx512m", "password"),
        ("CONNECTION_STRING", "Server=db;User Id=app;Password=Acme-Cs-1;", "password"),
        ("APP_CONFIG", '{"db": {"user": "app", "password": "Acme-Json-1"}}', "password"),
        ("SESSION_BLOB", "A" * 30 + "b" * 30 + "9" * 30 + "Z" * 30, "long token"),
    ],
)
def test_a_secret_in_an_environment_variable_is_reported_by_name_and_kind(name: str, value: str, kind: str) -> None:
    assert kinds({name: value}) == {name: kind}


def test_default_passwords_are_reported_because_they_are_the_live_value() -> None:
    found = kinds({"DB_PASSWORD": "changeme", "ADMIN_PASSWORD": "password", "ROOT_PW": "admin"})
    assert found == {"DB_PASSWORD": "password", "ADMIN_PASSWORD": "password"}  # ROOT_PW: "PW" names nothing


# ---------------------------------------------------------------------------------------------
# Environment variables: false-positive traps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_LEVEL", "DEBUG"),
        ("TOKEN_TTL", "3600"),
        ("SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"),
        ("DB_SECRET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"),
        ("PASSWORD_MIN_LENGTH", "14"),
        ("SECRET_NAME", "prod/billing-db"),
        ("DB_PASSWORD_SECRET_ID", "prod/billing-db"),
        ("DB_PASSWORD_PARAM", "/acme/prod/db-password"),
        ("DB_PASSWORD", "/acme/prod/db-password"),
        ("DB_PASSWORD", "{{resolve:secretsmanager:prod/db:SecretString:password}}"),
        ("DB_PASSWORD", "{{resolve:ssm-secure:/acme/db-password:1}}"),
        ("DB_PASSWORD", "${DB_PASSWORD}"),
        ("DB_PASSWORD", "$(cat /run/secrets/db)"),
        ("DB_PASSWORD", "%DB_PASSWORD%"),
        ("DB_PASSWORD", "!Ref DbPassword"),
        ("DB_PASSWORD", "<DB_PASSWORD>"),
        ("DB_PASSWORD", ""),
        ("DB_PASSWORD", "********"),
        ("DB_PASSWORD", "REDACTED"),
        ("PASSWORD_FILE", "/run/secrets/db-password"),
        ("SECRETS_EXTENSION_HTTP_PORT", "2773"),
        ("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "true"),
        ("SECRETS_MANAGER_TTL", "300"),
        ("API_KEY_HEADER", "x-api-key"),
        ("TOKEN_ENDPOINT", "https://auth.acme-corp.example/oauth2/token"),
        ("PASSWORD_POLICY", "strict"),
        ("USE_TOKEN_AUTH", "false"),
        ("KMS_KEY_ID", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("CACHE_KEY_PREFIX", "acme:v2"),
        ("GIT_SHA", "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"),
        ("ROLE_UNIQUE_ID", "AROAIOSFODNN7EXAMPLE"),
        ("REDIS_URL", "redis://cache.internal:6379/0"),
        ("UPSTREAM", "https://user:${UPSTREAM_TOKEN}@api.partner.example/"),
        ("MAX_TOKENS", "4096"),
        ("FEATURE_FLAGS", "beta,dark-mode"),
        ("HANDLER_PATH", "/var/task/src/handlers/billing/invoice_export.py"),
    ],
)
def test_settings_references_and_placeholders_are_not_secrets(name: str, value: str) -> None:
    assert kinds({name: value}) == {}


def test_a_name_that_is_itself_credential_shaped_is_withheld() -> None:
    [secret] = sic.find_in_variables({"LOG_LEVEL": "INFO", "AKIAIOSFODNN7EXAMPLE": EXAMPLE_SECRET_KEY})
    assert secret.name is None
    assert secret.where == "environment variable #2 (name withheld)"
    assert "AKIA" not in secret.where


# ---------------------------------------------------------------------------------------------
# User data: lines, forms, decoding
# ---------------------------------------------------------------------------------------------


def lines(text: str) -> dict[str, str]:
    return {s.where: s.kind for s in sic.find_in_text(text)}


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("export DB_PASSWORD='Acme-Web-Pw-3kq9x7'", "password"),
        ('export DB_PASSWORD="Acme-Web-Pw-3kq9x7"', "password"),
        ("DB_PASSWORD=Acme-Web-Pw-3kq9x7 /opt/acme/start", "password"),
        ("declare -x API_KEY=acme-live-api-5c8e1d3b9f", "API key"),
        ("set DB_PASSWORD=Acme-Win-Pw-1", "password"),
        ('$env:DB_PASSWORD = "Acme-Ps-Pw-1"', "password"),
        ("db_password: Acme-Yaml-Pw-1", "password"),
        ("  password = Acme-Ini-Pw-1", "password"),
        ('{"user": "app", "password": "Acme-Json-Pw-1"}', "password"),
        ("mysql -u app --password=Acme-Cli-Pw-1 -h db.internal", "password"),
        ("aws rds create-db-instance --master-user-password Acme-Rds-Pw-1", "password"),
        (f"aws configure set aws_secret_access_key {EXAMPLE_SECRET_KEY}", "AWS secret access key"),
        ("aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
        (
            'curl -H "Authorization: Bearer abcdef0123456789" https://api.acme-corp.example',
            "authorization header credentials",
        ),
        ("git clone https://deploy:Acme-Git-Pw-1@git.acme-corp.example/app.git", "password in a URL"),
        ("# old key AKIAIOSFODNN7EXAMPLE, do not use", "AWS access key id"),
        ("-----BEGIN EC PRIVATE KEY-----", "private key"),
    ],
)
def test_a_secret_in_user_data_is_reported_by_line_and_kind(line: str, kind: str) -> None:
    assert lines(f"#!/bin/bash\n{line}\n") == {"user data line 2": kind}


@pytest.mark.parametrize(
    "line",
    [
        "export LOG_LEVEL=DEBUG",
        "export TOKEN_TTL=3600",
        "export PASSWORD_MIN_LENGTH=14",
        "export SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id prod/db --query SecretString --output text)",
        'export DB_PASSWORD="$(aws ssm get-parameter --name /acme/db --with-decryption --query Parameter.Value)"',
        "aws secretsmanager get-secret-value --secret-id prod/db-password",
        'curl -H "Authorization: Bearer $TOKEN" https://api.acme-corp.example',
        "docker login --username acme --password-stdin < /run/token",
        "# token: rotated monthly by the platform team",
        "# password: see the vault",
        "echo 'basic hardening done'",
        'if [ "$PASSWORD" == "" ]; then exit 1; fi',
        "password: !Ref DbPassword",
        "- name: DB_PASSWORD",
        "valueFrom: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "yum install -y httpd && systemctl enable httpd",
    ],
)
def test_user_data_that_holds_no_secret_is_left_alone(line: str) -> None:
    assert lines(f"#!/bin/bash\n{line}\n") == {}


def test_a_container_environment_pair_is_read_as_one_assignment() -> None:
    text = "env:\n  - name: DB_PASSWORD\n    value: Acme-K8s-Pw-1\n  - name: LOG_LEVEL\n    value: info\n"
    [secret] = sic.find_in_text(text)
    assert (secret.where, secret.kind, secret.name) == ("user data line 3", "password", "DB_PASSWORD")


def test_one_line_with_two_secrets_is_one_location_with_both_kinds() -> None:
    [secret] = sic.find_in_text("aws configure set x AKIAIOSFODNN7EXAMPLE && export DB_PASSWORD=Acme-Two-1\n")
    assert secret.where == "user data line 1"
    assert set(secret.kind.split(" and ")) == {"AWS access key id", "password"}


def test_plain_gzip_and_multipart_user_data_are_all_read() -> None:
    script = "#!/bin/bash\nexport DB_PASSWORD=Acme-Pw-1\n"
    multipart = (
        'Content-Type: multipart/mixed; boundary="B"\nMIME-Version: 1.0\n\n--B\n'
        "Content-Type: text/cloud-config\n\n#cloud-config\npackage_update: true\n\n--B\n"
        "Content-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n"
        f"{b64(script)}\n--B--\n"
    )

    plain = sic.find_in_user_data(b64(script))
    zipped = sic.find_in_user_data(b64(gzip.compress(script.encode())))
    parts = sic.find_in_user_data(b64(multipart))

    assert [s.where for s in plain.secrets] == ["user data line 2"]
    assert [s.where for s in zipped.secrets] == ["user data line 2"]
    assert [s.where for s in parts.secrets] == ["user data part 2 line 2"]
    assert not plain.problems and not zipped.problems and not parts.problems


@pytest.mark.parametrize(
    ("encoded", "problem"),
    [
        (b64(b"\x00\x01\xfe\xffbinary"), "binary user data"),
        (b64(gzip.compress(b"\x00\x01\xfe\xffbinary")), "binary user data"),
        (b64(b"\x1f\x8b\x08\x00broken gzip"), "does not decompress"),
        (b64(gzip.compress(b"A" * (sic.MAX_DECODED_BYTES + 1))), "larger than"),
        ("not base64 at all!", "not valid base64"),
    ],
)
def test_user_data_that_is_not_text_is_not_scanned_and_says_why(encoded: str, problem: str) -> None:
    scan = sic.find_in_user_data(encoded)
    assert scan.secrets == []
    assert len(scan.problems) == 1 and problem in scan.problems[0]


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("DB_PASSWORD", "password"),
        ("dbPassword", "password"),
        ("AWS_SECRET_ACCESS_KEY", "AWS secret access key"),
        ("PRIVATE_KEY", "private key"),
        ("privateKey", "private key"),
        ("apiKey", "API key"),
        ("SECRET_ARN", None),
        ("TOKEN_TTL", None),
        ("PASSWORD_MIN_LENGTH", None),
        ("KMS_KEY_ID", None),
        ("PASSTHROUGH", None),
        ("LOG_LEVEL", None),
    ],
)
def test_a_names_words_decide_whether_it_holds_a_secret(name: str, kind: str | None) -> None:
    assert sic.secret_kind_of_name(name) == kind


# ---------------------------------------------------------------------------------------------
# Evaluation: statuses, MANUAL, the cap, the shared listing calls, the guard
# ---------------------------------------------------------------------------------------------


def listing(functions: list[dict[str, Any]], instances: list[dict[str, Any]]) -> list[EvidenceItem]:
    return [
        EvidenceItem(call=sic.functions_call(REGION), response={"Functions": functions}),
        EvidenceItem(call=sic.instances_call(REGION), response={"Reservations": [{"Instances": instances}]}),
    ]


def function(name: str, variables: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"FunctionName": name, "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"}
    if variables is not None:
        doc["Environment"] = {"Variables": variables}
    return {**doc, **extra}


def instance(instance_id: str, name: str) -> dict[str, Any]:
    return {"InstanceId": instance_id, "State": {"Name": "running"}, "Tags": [{"Key": "Name", "Value": name}]}


def user_data(instance_id: str, encoded: str | None) -> EvidenceItem:
    value = {"Value": encoded} if encoded is not None else {}
    return EvidenceItem(
        call=sic.user_data_call(REGION, instance_id), response={"InstanceId": instance_id, "UserData": value}
    )


def planted_evidence() -> Evidence:
    items = listing(
        [function("acme-billing-api", PLANTED), function("acme-billing-api-v2", {"LOG_LEVEL": "INFO"})],
        [instance("i-0123456789abcdef0", "acme-web-1"), instance("i-0123456789abcdef1", "acme-web-2")],
    )
    items += [user_data("i-0123456789abcdef0", b64(PLANTED_USER_DATA)), user_data("i-0123456789abcdef1", None)]
    return Evidence(account_id=ACCOUNT, items=items)


def test_fail_pass_and_no_result_follow_what_was_read() -> None:
    results = {(r.control_id, r.resource_id): r for r in sic.evaluate(REGION, planted_evidence())}

    assert results["ESA.1", "acme-billing-api"].status is FindingStatus.FAIL
    assert results["ESA.1", "acme-billing-api-v2"].status is FindingStatus.PASS
    assert results["ESA.2", "i-0123456789abcdef0"].status is FindingStatus.FAIL
    assert ("ESA.2", "i-0123456789abcdef1") not in results  # no user data: the control does not apply
    locations = results["ESA.2", "i-0123456789abcdef0"].evidence["locations"]
    assert locations[0] == {
        "where": "user data line 2 of instance i-0123456789abcdef0 (acme-web-1)",
        "kind": "password",
        "name": "ADMIN_PASSWORD",
    }
    assert results["ESA.1", "acme-billing-api"].evidence["locations"][2] == {
        "where": "environment variable DB_PASSWORD of function acme-billing-api",
        "kind": "password",
        "name": "DB_PASSWORD",
    }


def test_functions_without_variables_and_instances_without_user_data_give_one_not_applicable() -> None:
    items = listing([function("acme-resize")], [instance("i-0123456789abcdef0", "acme-batch-1")])
    items.append(user_data("i-0123456789abcdef0", None))

    results = sic.evaluate(REGION, Evidence(account_id=ACCOUNT, items=items))

    assert [(r.control_id, r.status, r.resource_id) for r in results] == [
        ("ESA.1", FindingStatus.NOT_APPLICABLE, ACCOUNT),
        ("ESA.2", FindingStatus.NOT_APPLICABLE, ACCOUNT),
    ]
    assert "with environment variables" in results[0].reason
    assert "with user data" in results[1].reason


def test_an_environment_lambda_could_not_decrypt_is_manual_not_pass() -> None:
    error = {"Error": {"ErrorCode": "KMSAccessDeniedException", "Message": "Lambda was unable to decrypt"}}
    items = listing([function("acme-kms-api", Environment=error)], [])

    [result] = [r for r in sic.evaluate(REGION, Evidence(account_id=ACCOUNT, items=items)) if r.control_id == "ESA.1"]

    assert result.status is FindingStatus.MANUAL
    assert result.missing and "KMSAccessDeniedException" in result.missing and "lambda:ListFunctions" in result.missing


def test_a_denied_user_data_read_is_manual_naming_the_permission() -> None:
    items = listing([], [instance("i-0123456789abcdef0", "acme-web-1")])
    denied = EvidenceItem(call=sic.user_data_call(REGION, "i-0123456789abcdef0"), error_code="UnauthorizedOperation")

    results = sic.evaluate(REGION, Evidence(account_id=ACCOUNT, items=[*items, denied]))

    [manual] = [r for r in results if r.control_id == "ESA.2"]
    assert manual.status is FindingStatus.MANUAL
    assert manual.missing == "permission ec2:DescribeInstanceAttribute was denied"


def test_user_data_reads_are_capped_and_the_cap_is_reported() -> None:
    instances = [instance(f"i-0123456789abcdef{n}", f"acme-{n}") for n in range(3)]
    evidence = Evidence(account_id=ACCOUNT, items=listing([], instances))

    calls = sic.plan(REGION, evidence, max_resources=2)
    caps = sic.cap_reached(REGION, evidence, max_resources=2)

    assert [c.parameter("instance-id") for c in calls] == ["i-0123456789abcdef0", "i-0123456789abcdef1"]
    assert all(c.parameter("attribute") == "userData" for c in calls)
    assert [(c.listed, c.assessed) for c in caps] == [(3, 2)]


def test_the_listings_it_shares_with_the_lambda_and_ec2_modules_are_planned_once() -> None:
    calls = registry.plan_all([REGION], Evidence(account_id=ACCOUNT))

    assert sum(1 for c in calls if c == sic.functions_call(REGION)) == 1
    assert sum(1 for c in calls if c == sic.instances_call(REGION)) == 1
    assert registry.CONTROL_OWNERS["ESA.1"] is sic
    assert registry.CONTROL_OWNERS["ESA.2"] is sic


def test_the_guard_allows_the_user_data_read_and_no_other_instance_attribute() -> None:
    call = sic.user_data_call(REGION, "i-0123456789abcdef0")

    assert cli_command(call, REGION) == (
        "aws ec2 describe-instance-attribute --attribute userData --instance-id i-0123456789abcdef0 --region us-east-1"
    )
    for attribute in ("disableApiTermination", "instanceType", "UserData", "userdata"):
        other = ApiCall.of(
            "ec2", "describe-instance-attribute", REGION, instance_id="i-0123456789abcdef0", attribute=attribute
        )
        with pytest.raises(InvalidInput, match="may only be userData"):
            check_call(other)
    for instance_id in ("i-123", "i-0123456789ABCDEF0", "sg-0123456789abcdef0", "i-0123456789abcdef0 --region x"):
        with pytest.raises(InvalidInput, match="refused"):
            check_call(
                ApiCall.of("ec2", "describe-instance-attribute", REGION, instance_id=instance_id, attribute="userData")
            )


# ---------------------------------------------------------------------------------------------
# The catalogue: the agent's own controls, honestly labelled, scored like any other
# ---------------------------------------------------------------------------------------------


def test_esa_controls_are_the_agents_own_and_say_so() -> None:
    catalogue = load_catalogue()
    for control_id in ("ESA.1", "ESA.2"):
        control = catalogue.get(control_id)
        assert control.origin == "agent"
        assert control.config_rule is None
        assert control.cis == ()
        assert control.well_architected == ("sec_identities_secrets",)
        assert all("/securityhub/" not in link.url for link in control.documentation)
        assert control.severity.value == "HIGH" and control.weight == 400
    assert {a for c in ("ESA.1", "ESA.2") for a in catalogue.get(c).iam_actions} == {
        "lambda:ListFunctions",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceAttribute",
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"config_rule": "lambda-env-secrets"}, "no AWS Config managed rule"),
        (
            {
                "documentation": [
                    {
                        "title": "x",
                        "url": "https://docs.aws.amazon.com/securityhub/latest/userguide/esa-controls.html#esa-1",
                    },
                    {"title": "y", "url": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html"},
                ]
            },
            "must not link a Security Hub control page",
        ),
        ({"origin": "security_hub"}, "belong to the agent's own controls"),
        ({"id": "Lambda.99", "service": "Lambda"}, "id must be ESA"),
    ],
)
def test_the_catalogue_refuses_an_agent_control_that_could_pass_for_security_hubs(
    change: dict[str, Any], problem: str
) -> None:
    raw = load_catalogue().get("ESA.1").model_dump(mode="json")
    raw.update(change)
    with pytest.raises(ValueError, match=problem):
        Control.model_validate(raw)


def test_the_agents_controls_are_ranked_with_an_honest_reason_and_scored() -> None:
    findings = findings_from_results(sic.evaluate(REGION, planted_evidence()), ACCOUNT, "aws_api")

    assessment = SecuritySynthesizer().synthesize_security_assessment(findings, [], assessment_id="asm-unit")

    top = next(p for p in assessment.prioritized if p.finding.control_id == "ESA.1")
    assert top.reasons[0] == "control severity HIGH (the agent's own control and rating)"
    weighted = next(s for s in assessment.scores if s.name == "weighted")
    assert weighted.denominator == 800  # ESA.1 and ESA.2, 400 each, both failing
    assert weighted.numerator == 0


# ---------------------------------------------------------------------------------------------
# Values never leave: results, golden expectations, the answer, the logs
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield stream
    configure_logging("WARNING")


def test_no_planted_value_reaches_the_results_the_answer_or_the_logs(captured_logs: io.StringIO) -> None:
    # GIVEN an account whose function and instance hold known secrets, and logs captured
    stream = captured_logs
    evidence = planted_evidence()

    # WHEN the checks run and the answer is built (and everything is logged, as a careless caller might)
    results = sic.evaluate(REGION, evidence)
    findings = findings_from_results(results, ACCOUNT, "aws_api")
    assessment = SecuritySynthesizer().synthesize_security_assessment(findings, [], assessment_id="asm-unit")
    answer = AnswerEngine().transform_multi_source_response(assessment)
    get_logger("test").info("assessment", results=[r.model_dump(mode="json") for r in results])

    # THEN the answer reports every location, and no value anywhere
    everything = "\n".join(
        [
            json.dumps([r.model_dump(mode="json") for r in results]),
            assessment.model_dump_json(),
            answer.model_dump_json(),
            stream.getvalue(),
        ]
    )
    assert "DB_PASSWORD" in answer.model_dump_json()
    assert "user data line 2" in assessment.model_dump_json()
    for value in NEVER_SHOWN:
        assert value not in everything, value
        assert value[:12] not in everything, value  # not even a prefix


def test_golden_expectations_never_quote_what_the_evidence_holds() -> None:
    for path in sorted(GOLDEN.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        expected = json.dumps(case["expected"])
        for secret in ("Acme-Billing-Pw-7f3k9q2z", "Acme-Web-Pw-3kq9x7", "acme-live-api-5c8e1d3b9f", "EXAMPLEKEY"):
            assert secret not in expected, (path.name, secret)
