"""The packaged documentation corpus is large enough, well formed, and looked up correctly."""

from __future__ import annotations

import re
from importlib import resources
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from agent_config.knowledge.corpus import CORPUS_FILES, Corpus, CorpusError, docs_for_control, load_corpus
from agent_config.knowledge.models import DocEntry, DocKind

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
WORD = re.compile(r"[a-z0-9]+")

# The high-value controls of /work/shared/reference/security-controls.md: each must have a page.
HIGH_VALUE_CONTROLS = [
    "IAM.1", "IAM.3", "IAM.4", "IAM.5", "IAM.6", "IAM.7", "IAM.8", "IAM.9", "IAM.22",
    "S3.1", "S3.2", "S3.3", "S3.5", "S3.8",
    "EC2.1", "EC2.2", "EC2.6", "EC2.7", "EC2.8", "EC2.9", "EC2.13", "EC2.14", "EC2.18", "EC2.19", "EC2.21",
    "CloudTrail.1", "CloudTrail.2", "CloudTrail.4", "Config.1", "GuardDuty.1",
    "RDS.1", "RDS.2", "RDS.3", "KMS.3", "KMS.4", "Lambda.1", "SecretsManager.1", "ECR.1", "EKS.1",
    "EFS.1", "SNS.1", "SQS.1", "Account.1",
]  # fmt: skip

CORE_SERVICES = {
    "IAM", "S3", "EC2", "RDS", "KMS", "Lambda", "CloudTrail", "Config", "GuardDuty", "SecretsManager",
    "ECR", "EKS", "EFS", "SNS", "SQS", "DynamoDB", "Account",
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


def test_the_corpus_holds_at_least_200_entries(corpus: Corpus) -> None:
    assert len(corpus) >= 200


def test_every_entry_has_a_unique_id_and_url(corpus: Corpus) -> None:
    ids = [entry.id for entry in corpus.entries]
    urls = [entry.url for entry in corpus.entries]

    assert len(set(ids)) == len(ids)
    assert len(set(urls)) == len(urls)


def test_every_url_is_https_on_an_official_aws_host(corpus: Corpus) -> None:
    for entry in corpus.entries:
        parts = urlsplit(entry.url)
        host = parts.hostname or ""
        assert parts.scheme == "https", entry.url
        assert host in {"docs.aws.amazon.com", "aws.amazon.com"} or host.endswith(".aws.amazon.com"), entry.url


def test_summaries_are_two_to_five_sentences_and_say_more_than_the_title(corpus: Corpus) -> None:
    for entry in corpus.entries:
        sentences = SENTENCE_BREAK.split(entry.summary.strip())
        assert 2 <= len(sentences) <= 5, (entry.id, len(sentences))
        assert entry.summary.strip().lower() != entry.title.strip().lower(), entry.id
        new_words = set(WORD.findall(entry.summary.lower())) - set(WORD.findall(entry.title.lower()))
        assert len(new_words) >= 10, (entry.id, sorted(new_words))


def test_every_entry_is_tagged_with_its_service_and_a_remote_topic(corpus: Corpus) -> None:
    for entry in corpus.entries:
        assert entry.service, entry.id
        assert "general" in entry.topics, entry.id


@pytest.mark.parametrize("control_id", HIGH_VALUE_CONTROLS)
def test_every_high_value_control_has_its_reference_page(corpus: Corpus, control_id: str) -> None:
    entry = corpus.control(control_id)

    assert entry is not None, f"{control_id} missing from the corpus"
    assert entry.kind is DocKind.CONTROL
    assert f"[{control_id}]" in entry.title


def test_the_core_services_are_covered_by_at_least_60_controls(corpus: Corpus) -> None:
    core = [entry for entry in corpus.entries if entry.kind is DocKind.CONTROL and entry.service in CORE_SERVICES]

    assert len(core) >= 60
    assert {entry.service for entry in core} == CORE_SERVICES


def test_control_pages_point_at_their_anchor_in_the_security_hub_reference(corpus: Corpus) -> None:
    for control_id in corpus.control_ids:
        entry = corpus.control(control_id)
        assert entry is not None
        prefix, number = control_id.lower().split(".")
        assert entry.url.startswith("https://docs.aws.amazon.com/securityhub/latest/userguide/"), entry.url
        assert entry.url.endswith(f"-controls.html#{prefix}-{number}"), entry.url


def test_well_architected_covers_every_security_question(corpus: Corpus) -> None:
    practices = [entry for entry in corpus.entries if entry.kind is DocKind.BEST_PRACTICE]
    questions = {entry.best_practice_id[:5] for entry in practices if entry.best_practice_id}

    assert questions == {f"SEC{n:02d}" for n in range(1, 12)}
    for entry in practices:
        assert entry.url.startswith("https://docs.aws.amazon.com/wellarchitected/latest/security-pillar/sec_")


def test_docs_for_a_control_list_the_control_then_guides_then_best_practices() -> None:
    docs = docs_for_control("S3.8")

    assert docs[0].control_id == "S3.8"
    kinds = [entry.kind for entry in docs[1:]]
    assert DocKind.GUIDE in kinds
    assert DocKind.BEST_PRACTICE in kinds
    assert kinds == sorted(kinds, key=lambda kind: kind is DocKind.BEST_PRACTICE)


def test_docs_for_a_control_accept_any_case_and_spacing() -> None:
    assert [entry.id for entry in docs_for_control(" iam.4 ")] == [entry.id for entry in docs_for_control("IAM.4")]


def test_docs_for_an_unknown_control_are_empty() -> None:
    assert docs_for_control("S3.999") == []
    assert docs_for_control("") == []


def test_a_page_url_finds_every_section_documented_on_that_page(corpus: Corpus) -> None:
    sections = corpus.on_page("https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html")

    assert {entry.control_id for entry in sections} == {"KMS.1", "KMS.2", "KMS.3", "KMS.4"}
    assert corpus.by_url("https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html") is None


def test_best_practices_are_found_by_id(corpus: Corpus) -> None:
    entry = corpus.best_practice("sec01-bp02")

    assert entry is not None
    assert entry.url.endswith("/sec_securely_operate_aws_account.html")


def test_every_packaged_corpus_file_is_loaded() -> None:
    package = resources.files("agent_config.knowledge")
    packaged = {item.name for item in package.iterdir() if item.name.startswith("corpus_")}

    assert packaged == set(CORPUS_FILES)


@pytest.mark.parametrize(
    "url",
    [
        "http://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",
        "https://example.com/IAM/best-practices.html",
        "https://docs.aws.amazon.com.evil.example/IAM.html",
        "https://repost.aws/knowledge-center/x",
    ],
)
def test_an_entry_with_a_non_official_or_plain_http_url_is_rejected(url: str) -> None:
    with pytest.raises(ValidationError, match="official https AWS documentation URL"):
        _entry(url=url)


def test_an_entry_whose_summary_repeats_the_title_is_rejected() -> None:
    title = "Enable default encryption for every bucket in the account and every Region you use"
    with pytest.raises(ValidationError, match="repeats the title"):
        _entry(title=title, summary=title + ".")


def test_a_control_entry_without_its_control_id_is_rejected() -> None:
    with pytest.raises(ValidationError, match="needs control_id"):
        _entry(kind=DocKind.CONTROL)


def test_an_unknown_topic_is_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown topics"):
        _entry(topics=("security",))


def test_a_corpus_with_a_duplicate_url_is_rejected() -> None:
    with pytest.raises(CorpusError, match="duplicate URL"):
        Corpus([_entry(entry_id="guide-one"), _entry(entry_id="guide-two")])


def test_a_corpus_naming_an_undocumented_related_control_is_rejected() -> None:
    with pytest.raises(CorpusError, match=r"S3\.999"):
        Corpus([_entry(related_controls=("S3.999",))])


def _entry(
    *,
    entry_id: str = "guide-test",
    kind: DocKind = DocKind.GUIDE,
    title: str = "A test page",
    url: str = "https://docs.aws.amazon.com/test/page.html",
    summary: str = "A summary long enough to pass validation. It has a second sentence as well.",
    topics: tuple[str, ...] = ("general",),
    related_controls: tuple[str, ...] = (),
) -> DocEntry:
    return DocEntry(
        id=entry_id,
        kind=kind,
        service="Test",
        title=title,
        url=url,
        topics=topics,
        summary=summary,
        related_controls=related_controls,
    )
