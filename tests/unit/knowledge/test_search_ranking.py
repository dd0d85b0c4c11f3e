"""Realistic questions find the page that answers them first in the offline corpus.

Each case is a phrase a user or the planner would send and the corpus entry that should rank
first. Where a Security Hub control and the guide page that explains it share the same words
(`KMS key rotation`), generic phrasings expect the explanatory guide and control-specific
phrasings (`automatic rotation of customer managed KMS keys`) expect the control.
"""

from __future__ import annotations

import pytest

from agent_config.knowledge.models import DocEntry, DocKind
from agent_config.knowledge.search import SearchIndex, default_index, query_groups, query_terms

RANKING_CASES = [
    # (search phrase, id of the entry that must rank first)
    pytest.param("S3 block public access", "guide-s3-access-control-block-public-access", id="s3-bpa-topic"),
    pytest.param("bucket-level block public access", "fsbp-s3-8", id="s3-bpa-bucket-control"),
    pytest.param("S3 bucket policy require TLS", "fsbp-s3-5", id="s3-require-tls"),
    pytest.param("ransomware protection S3 object lock", "guide-s3-object-lock", id="s3-object-lock"),
    pytest.param("rotate IAM access keys", "guide-iam-id-credentials-access-keys", id="iam-rotate-keys-topic"),
    pytest.param("IAM access keys older than 90 days", "fsbp-iam-3", id="iam-old-keys-control"),
    pytest.param("root user MFA", "fsbp-iam-9", id="root-mfa"),
    pytest.param("hardware MFA for the root user", "fsbp-iam-6", id="root-hardware-mfa"),
    pytest.param("root user has an access key", "fsbp-iam-4", id="root-access-key-control"),
    pytest.param("delete the root user access key", "guide-account-root-user-access-key", id="root-key-howto"),
    pytest.param("minimum password length 14", "fsbp-iam-15", id="password-length"),
    pytest.param("unused IAM credentials 45 days", "fsbp-iam-22", id="unused-credentials"),
    pytest.param("IAM Access Analyzer", "guide-iam-what-is-access-analyzer", id="access-analyzer"),
    pytest.param("grant least privilege", "wa-sec03-bp02", id="least-privilege"),
    pytest.param("GuardDuty findings severity", "guide-guardduty-guardduty-findings-severity", id="gd-severity"),
    pytest.param("enable GuardDuty", "fsbp-guardduty-1", id="gd-enabled"),
    pytest.param("IMDSv2", "fsbp-ec2-8", id="imdsv2"),
    pytest.param("security group SSH open to the world", "fsbp-ec2-13", id="ssh-open"),
    pytest.param("RDP port 3389 open to 0.0.0.0/0", "fsbp-ec2-14", id="rdp-open"),
    pytest.param("default security group allows traffic", "fsbp-ec2-2", id="default-sg"),
    pytest.param("EBS encryption by default", "guide-ebs-encryption-by-default", id="ebs-default-encryption"),
    pytest.param("EBS snapshots publicly restorable", "fsbp-ec2-1", id="ebs-public-snapshot"),
    pytest.param("enable VPC flow logs", "fsbp-ec2-6", id="vpc-flow-logs"),
    pytest.param("session manager instead of SSH bastion", "guide-ssm-session-manager", id="session-manager"),
    pytest.param("RDS database publicly accessible", "fsbp-rds-2", id="rds-public"),
    pytest.param("RDS storage encryption", "fsbp-rds-3", id="rds-encryption"),
    pytest.param("KMS key rotation", "guide-kms-rotate-keys", id="kms-rotation-topic"),
    pytest.param("automatic rotation of customer managed KMS keys", "fsbp-kms-4", id="kms-rotation-control"),
    pytest.param("KMS key scheduled for deletion", "fsbp-kms-3", id="kms-deletion"),
    pytest.param(
        "CloudTrail log file validation",
        "guide-cloudtrail-cloudtrail-log-file-validation-intro",
        id="cloudtrail-validation",
    ),
    pytest.param("multi-region CloudTrail trail", "fsbp-cloudtrail-1", id="cloudtrail-multi-region"),
    pytest.param("AWS Config recording", "fsbp-config-1", id="config-recording"),
    pytest.param("Lambda function policy public access", "fsbp-lambda-1", id="lambda-public"),
    pytest.param("Secrets Manager automatic rotation", "fsbp-secretsmanager-1", id="secrets-rotation"),
    pytest.param("ECR image scanning", "guide-ecr-image-scanning", id="ecr-scanning-topic"),
    pytest.param("ECR private repositories scan on push", "fsbp-ecr-1", id="ecr-scanning-control"),
    pytest.param("EKS cluster endpoint public", "guide-eks-cluster-endpoint", id="eks-endpoint-topic"),
    pytest.param("EKS API server endpoint publicly accessible", "fsbp-eks-1", id="eks-endpoint-control"),
    pytest.param("SQS queue encryption at rest", "fsbp-sqs-1", id="sqs-encryption"),
    pytest.param("register a security contact for the account", "fsbp-account-1", id="security-contact"),
    pytest.param("Security Hub security score", "guide-securityhub-standards-security-score", id="hub-score"),
    pytest.param("Amazon Inspector vulnerability scanning", "guide-inspector-what-is-inspector", id="inspector"),
    pytest.param("Macie automated sensitive data discovery", "guide-macie-discovery-asdd", id="macie"),
    pytest.param("service control policies", "guide-organizations-orgs-manage-policies-scps", id="scps"),
    pytest.param("incident response playbooks", "wa-sec10-bp04", id="ir-playbooks"),
    pytest.param("threat modeling", "wa-sec01-bp07", id="threat-model"),
    pytest.param("SEC01-BP02", "wa-sec01-bp02", id="bp-id"),
    pytest.param("s3.8", "fsbp-s3-8", id="control-id-lowercase"),
]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return default_index()


@pytest.mark.parametrize(("phrase", "expected_id"), RANKING_CASES)
def test_the_page_that_answers_the_question_ranks_first(index: SearchIndex, phrase: str, expected_id: str) -> None:
    hits = index.search(phrase, limit=5)

    assert hits, f"no results for {phrase!r}"
    assert hits[0].entry.id == expected_id, f"{phrase!r} ranked {[hit.entry.id for hit in hits]}"


def test_ranks_are_one_based_and_consecutive(index: SearchIndex) -> None:
    hits = index.search("encryption at rest", limit=8)

    assert [hit.rank for hit in hits] == list(range(1, 9))


def test_a_control_id_anywhere_in_the_phrase_pins_that_control_first(index: SearchIndex) -> None:
    hits = index.search("what does iam.4 check about the root user", limit=3)

    assert hits[0].entry.control_id == "IAM.4"


@pytest.mark.parametrize("phrase", ["SEC03-BP02", "sec03 bp02", "SEC3-BP2"])
def test_best_practice_ids_are_recognised_in_their_usual_spellings(index: SearchIndex, phrase: str) -> None:
    assert index.search(phrase, limit=1)[0].entry.best_practice_id == "SEC03-BP02"


def test_an_unknown_control_id_falls_back_to_word_matching(index: SearchIndex) -> None:
    hits = index.search("S3.999 public read", limit=3)

    assert hits
    assert all(hit.entry.control_id != "S3.999" for hit in hits)


def test_a_phrase_of_stop_words_finds_nothing(index: SearchIndex) -> None:
    assert index.search("how do I", limit=5) == []


def test_words_absent_from_the_corpus_find_nothing(index: SearchIndex) -> None:
    assert index.search("zebra xylophone", limit=5) == []


def test_limit_caps_the_number_of_results(index: SearchIndex) -> None:
    assert len(index.search("security", limit=3)) == 3
    assert index.search("security", limit=0) == []


def test_topics_the_corpus_has_no_pages_for_return_nothing(index: SearchIndex) -> None:
    assert index.search("S3 encryption", limit=5, topics=["cdk_docs"]) == []
    assert index.search("S3 encryption", limit=5, topics=["cdk_docs", "general"])


def test_query_syntax_in_the_phrase_is_treated_as_plain_words(index: SearchIndex) -> None:
    hits = index.search('"S3" AND NEAR(public OR *) -bucket ^title:', limit=3)

    assert hits, "FTS5 operators must not break or empty the search"


def test_abbreviations_also_search_the_words_the_documentation_uses() -> None:
    assert query_groups("SSH open") == [("ssh", "22"), ("open",)]
    assert "3389" in query_terms("rdp exposure")
    assert query_terms("the and of") == []


def test_a_title_match_outranks_the_same_words_in_a_summary() -> None:
    in_title = _entry("guide-a", "Rotate keys often", "Unrelated text about buckets and their policies here.")
    in_summary = _entry("guide-b", "Bucket policies", "This page explains how to rotate keys and why it helps.")
    index = SearchIndex([in_summary, in_title])

    assert [hit.entry.id for hit in index.search("rotate keys")] == ["guide-a", "guide-b"]
    index.close()


def test_pages_containing_every_word_outrank_pages_with_some() -> None:
    partial = _entry("guide-partial", "KMS keys KMS keys KMS keys", "Keys, keys and more KMS keys in this summary.")
    complete = _entry("guide-complete", "Deleting KMS keys", "How the waiting period protects key deletion.")
    index = SearchIndex([partial, complete])

    assert index.search("KMS key deletion")[0].entry.id == "guide-complete"
    index.close()


def _entry(entry_id: str, title: str, summary: str) -> DocEntry:
    return DocEntry(
        id=entry_id,
        kind=DocKind.GUIDE,
        service="Test",
        title=title,
        url=f"https://docs.aws.amazon.com/test/{entry_id}.html",
        topics=("general",),
        summary=summary + " A second sentence keeps the entry realistic.",
    )
