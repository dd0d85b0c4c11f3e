"""AWS IAM: the root user, the password policy, users' credentials and permissions, and customer
managed policies (including KMS.1, which Security Hub files under KMS but evaluates on IAM policies).

All calls are global (`region=None`); results carry region `global`.

- `get-account-summary` (IAM.4 root access keys, IAM.6/IAM.9 root MFA); when root MFA is on,
  `list-virtual-mfa-devices --assignment-status Assigned` tells a virtual device from hardware (IAM.6).
  moto always reports root MFA off; the summary is still the evidence.
- `get-account-password-policy` (IAM.7 as a whole, IAM.15 its minimum length, IAM.16 its reuse
  prevention; NoSuchEntity means no policy, which fails all three). One read, three verdicts: CIS
  and Security Hub report the length and the reuse rule as controls of their own, so an account
  can meet IAM.15 and still fail IAM.7.
- `list-users`, then per user `get-login-profile` (NoSuchEntity: no console password),
  `list-access-keys`, `list-attached-user-policies`, `list-user-policies`; then `list-mfa-devices`
  for console users and `get-access-key-last-used` per active key (IAM.2, IAM.3, IAM.5, IAM.8,
  IAM.22). IAM.8 (90 days, FSBP) and IAM.22 (45 days, CIS 1.12) are the same AWS Config rule with
  two thresholds, so they share one reading of each user's credential use and differ only there.
- `list-policies --scope Local`, then `get-policy-version` of each default version (IAM.1, IAM.21,
  KMS.1).

Per-user calls are used rather than the credential report: the report must be generated and
polled (`ReportInProgress`), which a plan of idempotent reads cannot express; the cap bounds the cost.
Ages (IAM.3, IAM.8, IAM.22) are measured against `now`, which the caller passes (tests, replays) or the
clock supplies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_config.checks.evidence import ApiCall, Evidence
from agent_config.checks.results import GLOBAL_REGION, CapReached, CheckResult
from agent_config.checks.services._common import (
    DEFAULT_MAX_RESOURCES,
    Index,
    Read,
    Subject,
    account_subject,
    cap_notice,
    capped,
    days_between,
    items_of,
    listing_gate,
    needed,
    not_applicable,
    number,
    obj,
    parse_time,
    partition,
    read,
    resolve_now,
    strings_of,
)
from agent_config.checks.services._policy import Statement, action_matches, statements

SERVICE = "iam"
GLOBAL = True
CONTROL_IDS: tuple[str, ...] = (
    "IAM.1",
    "IAM.2",
    "IAM.3",
    "IAM.4",
    "IAM.5",
    "IAM.6",
    "IAM.7",
    "IAM.8",
    "IAM.9",
    "IAM.15",
    "IAM.16",
    "IAM.21",
    "IAM.22",
    "KMS.1",
)
USER_CONTROLS = ("IAM.2", "IAM.3", "IAM.5", "IAM.8", "IAM.22")
PASSWORD_POLICY_CONTROLS = ("IAM.7", "IAM.15", "IAM.16")
POLICY_CONTROLS = ("IAM.1", "IAM.21", "KMS.1")

USER = "AWS::IAM::User"
POLICY = "AWS::IAM::Policy"
NO_SUCH_ENTITY = "NoSuchEntity"

MAX_KEY_AGE_DAYS = 90
"""IAM.3: access keys are rotated within 90 days."""
MAX_UNUSED_DAYS = 90
"""IAM.8: credentials unused for 90 days are removed or disabled."""
CIS_MAX_UNUSED_DAYS = 45
"""IAM.22 (CIS 1.12): credentials unused for 45 days are removed or disabled."""
UNUSED_CREDENTIAL_DAYS: dict[str, int] = {"IAM.8": MAX_UNUSED_DAYS, "IAM.22": CIS_MAX_UNUSED_DAYS}
"""Each unused-credentials control and its threshold: one rule (AWS Config's
`iam-user-unused-credentials-check`), two `maxCredentialUsageAge` values."""

# IAM.7, as CIS AWS Foundations asks (stricter than Security Hub's default parameters); IAM.15
# and IAM.16 are the length and reuse parts of the same policy, at the same CIS values.
MIN_PASSWORD_LENGTH = 14
MIN_REUSE_PREVENTION = 24
MAX_PASSWORD_AGE_DAYS = 90
REQUIRED_CHARACTER_CLASSES = (
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
)

KMS_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:ReEncryptFrom")
"""KMS.1's blocked actions (Security Hub's default `blockedActionsPatterns`)."""
_ANY_KEY = "arn:{partition}:kms:zz-nowhere-0:000000000000:key/00000000-0000-0000-0000-000000000000"
"""A key in no real account: a resource pattern that matches it matches every key."""


# ---------------------------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------------------------


def summary_call() -> ApiCall:
    return ApiCall.of("iam", "get-account-summary")


def password_policy_call() -> ApiCall:
    return ApiCall.of("iam", "get-account-password-policy")


def virtual_mfa_call() -> ApiCall:
    return ApiCall.of("iam", "list-virtual-mfa-devices", assignment_status="Assigned")


def list_users_call() -> ApiCall:
    return ApiCall.of("iam", "list-users")


def list_policies_call() -> ApiCall:
    return ApiCall.of("iam", "list-policies", scope="Local")


def user_calls(user_name: str) -> dict[str, ApiCall]:
    return {
        operation: ApiCall.of("iam", operation, user_name=user_name)
        for operation in (
            "get-login-profile",
            "list-access-keys",
            "list-attached-user-policies",
            "list-user-policies",
            "list-mfa-devices",
        )
    }


def key_last_used_call(access_key_id: str) -> ApiCall:
    return ApiCall.of("iam", "get-access-key-last-used", access_key_id=access_key_id)


def policy_version_call(policy_arn: str, version_id: str) -> ApiCall:
    return ApiCall.of("iam", "get-policy-version", policy_arn=policy_arn, version_id=version_id)


def _users(index: Index) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_users_call())
    return listing, [u for u in items_of(listing.doc, "Users") if isinstance(u.get("UserName"), str)]


def _policies(index: Index) -> tuple[Read, list[dict[str, Any]]]:
    listing = read(index, list_policies_call())
    usable = [
        p
        for p in items_of(listing.doc, "Policies")
        if isinstance(p.get("Arn"), str) and isinstance(p.get("DefaultVersionId"), str)
    ]
    return listing, usable


def _active_keys(keys: Read) -> list[dict[str, Any]]:
    return [k for k in items_of(keys.doc, "AccessKeyMetadata") if k.get("Status") == "Active"]


def plan(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[ApiCall]:
    """Account settings and the two listings, then per-user and per-policy reads, then per-key reads."""
    index = Index(evidence)
    calls = [summary_call(), password_policy_call(), list_users_call(), list_policies_call()]
    summary = read(index, summary_call())
    if summary.doc is not None and obj(summary.doc.get("SummaryMap")).get("AccountMFAEnabled") == 1:
        calls.append(virtual_mfa_call())
    _, users = _users(index)
    for user in capped(users, max_resources):
        per_user = user_calls(user["UserName"])
        mfa = per_user.pop("list-mfa-devices")
        calls.extend(per_user.values())
        if read(index, per_user["get-login-profile"]).ok:
            calls.append(mfa)
        for key in _active_keys(read(index, per_user["list-access-keys"])):
            if isinstance(key.get("AccessKeyId"), str):
                calls.append(key_last_used_call(key["AccessKeyId"]))
    _, policies = _policies(index)
    calls.extend(policy_version_call(p["Arn"], p["DefaultVersionId"]) for p in capped(policies, max_resources))
    return needed(index, calls)


def cap_reached(region: str, evidence: Evidence, max_resources: int = DEFAULT_MAX_RESOURCES) -> list[CapReached]:
    index = Index(evidence)
    _, users = _users(index)
    _, policies = _policies(index)
    return cap_notice(SERVICE, GLOBAL_REGION, USER, len(users), max_resources) + cap_notice(
        SERVICE, GLOBAL_REGION, POLICY, len(policies), max_resources
    )


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(
    region: str,
    evidence: Evidence,
    *,
    now: datetime | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
) -> list[CheckResult]:
    index = Index(evidence)
    account = evidence.account_id
    moment = resolve_now(now)
    results = _root_results(index, account)
    results.extend(_password_policy_results(index, account))
    results.extend(_user_results(index, account, moment, max_resources))
    results.extend(_policy_results(index, account, region, max_resources))
    return results


# --- the root user and the password policy ----------------------------------------------------


def _root_results(index: Index, account: str) -> list[CheckResult]:
    subject = account_subject(account, GLOBAL_REGION)
    summary = read(index, summary_call())
    if summary.doc is None:
        return [subject.manual(c, summary.missing or "", "the account summary") for c in ("IAM.4", "IAM.6", "IAM.9")]
    values = obj(summary.doc.get("SummaryMap"))
    keys_present = values.get("AccountAccessKeysPresent")
    mfa_enabled = values.get("AccountMFAEnabled")
    results: list[CheckResult] = []
    if keys_present is None:
        results.append(subject.manual("IAM.4", "AccountAccessKeysPresent missing from iam:GetAccountSummary"))
    else:
        results.append(
            subject.verdict(
                "IAM.4",
                keys_present == 0,
                "The root user has no access keys.",
                "The root user has an access key.",
                AccountAccessKeysPresent=keys_present,
            )
        )
    if mfa_enabled is None:
        missing = "AccountMFAEnabled missing from iam:GetAccountSummary"
        return [*results, subject.manual("IAM.6", missing), subject.manual("IAM.9", missing)]
    results.append(
        subject.verdict(
            "IAM.9",
            mfa_enabled == 1,
            "The root user has MFA enabled.",
            "The root user has no MFA device.",
            AccountMFAEnabled=mfa_enabled,
        )
    )
    results.append(_iam_6(index, subject, mfa_enabled))
    return results


def _iam_6(index: Index, subject: Subject, mfa_enabled: Any) -> CheckResult:
    if mfa_enabled != 1:
        return subject.failed("IAM.6", "The root user has no MFA device, hardware or virtual.", AccountMFAEnabled=0)
    devices = read(index, virtual_mfa_call())
    if devices.doc is None:
        return subject.manual("IAM.6", devices.missing or "", "whether the root MFA device is hardware")
    root_virtual = [
        str(d.get("SerialNumber"))
        for d in items_of(devices.doc, "VirtualMFADevices")
        if str(d.get("SerialNumber", "")).endswith(":mfa/root-account-mfa-device")
        or str(obj(d.get("User")).get("Arn", "")).endswith(":root")
    ]
    return subject.verdict(
        "IAM.6",
        not root_virtual,
        "The root user's MFA is not a virtual device, so it is a hardware device.",
        "The root user's MFA is a virtual device, not hardware.",
        AccountMFAEnabled=1,
        root_virtual_devices=root_virtual,
    )


def _password_policy_results(index: Index, account: str) -> list[CheckResult]:
    """IAM.7, IAM.15 and IAM.16 from the one password policy: no policy fails all three (AWS's
    defaults apply, which meet none of them); a denied read leaves all three MANUAL."""
    subject = account_subject(account, GLOBAL_REGION)
    policy = read(index, password_policy_call(), absent_codes={NO_SUCH_ENTITY})
    if policy.absent:
        reason = "The account has no IAM password policy (AWS defaults apply)."
        return [subject.failed(control, reason) for control in PASSWORD_POLICY_CONTROLS]
    if policy.doc is None:
        return [subject.manual(c, policy.missing or "", "the password policy") for c in PASSWORD_POLICY_CONTROLS]
    settings = obj(policy.doc.get("PasswordPolicy"))
    length = number(settings.get("MinimumPasswordLength"))
    reuse = number(settings.get("PasswordReusePrevention"))
    return [
        _iam_7(subject, settings, length, reuse),
        subject.verdict(
            "IAM.15",
            length >= MIN_PASSWORD_LENGTH,
            f"Passwords must have at least {length} characters (at least {MIN_PASSWORD_LENGTH} required).",
            f"The minimum password length is {length}, below {MIN_PASSWORD_LENGTH}.",
            MinimumPasswordLength=settings.get("MinimumPasswordLength"),
        ),
        subject.verdict(
            "IAM.16",
            reuse >= MIN_REUSE_PREVENTION,
            f"The last {reuse} passwords cannot be reused.",
            "Password reuse prevention is off."
            if reuse == 0
            else f"Only the last {reuse} passwords are remembered, fewer than {MIN_REUSE_PREVENTION}.",
            PasswordReusePrevention=settings.get("PasswordReusePrevention"),
        ),
    ]


def _iam_7(subject: Subject, settings: dict[str, Any], length: int, reuse: int) -> CheckResult:
    weak: list[str] = []
    if length < MIN_PASSWORD_LENGTH:
        weak.append(f"minimum length {length} < {MIN_PASSWORD_LENGTH}")
    weak.extend(f"{flag} off" for flag in REQUIRED_CHARACTER_CLASSES if settings.get(flag) is not True)
    if reuse < MIN_REUSE_PREVENTION:
        weak.append(f"reuse prevention {reuse} < {MIN_REUSE_PREVENTION}")
    max_age = number(settings.get("MaxPasswordAge"))
    if not 0 < max_age <= MAX_PASSWORD_AGE_DAYS:
        weak.append(f"passwords do not expire within {MAX_PASSWORD_AGE_DAYS} days")
    decisive = {
        key: settings.get(key)
        for key in (
            "MinimumPasswordLength",
            *REQUIRED_CHARACTER_CLASSES,
            "PasswordReusePrevention",
            "MaxPasswordAge",
        )
    }
    return subject.verdict(
        "IAM.7",
        not weak,
        "The password policy meets every requirement.",
        f"The password policy is weak: {'; '.join(weak)}.",
        **decisive,
    )


# --- users -----------------------------------------------------------------------------------


def _user_results(index: Index, account: str, now: datetime, max_resources: int) -> list[CheckResult]:
    listing, users = _users(index)
    gate = listing_gate(USER_CONTROLS, account, GLOBAL_REGION, listing, len(users), "IAM users")
    if gate is not None:
        return gate
    results: list[CheckResult] = []
    for user in capped(users, max_resources):
        results.extend(_one_user(index, user, now))
    produced = {r.control_id for r in results}
    what = {
        "IAM.3": "IAM users with active access keys",
        "IAM.5": "IAM users with a console password",
        "IAM.8": "IAM users with a password or active access key",
        "IAM.22": "IAM users with a password or active access key",
    }
    results.extend(not_applicable(c, account, GLOBAL_REGION, w) for c, w in what.items() if c not in produced)
    return results


def _one_user(index: Index, user: dict[str, Any], now: datetime) -> list[CheckResult]:
    name = user["UserName"]
    subject = Subject(USER, name, user.get("Arn") if isinstance(user.get("Arn"), str) else None, GLOBAL_REGION)
    calls = user_calls(name)
    login = read(index, calls["get-login-profile"], absent_codes={NO_SUCH_ENTITY})
    keys = read(index, calls["list-access-keys"])
    results = [_iam_2(index, subject, calls)]
    if keys.doc is None:
        results.append(subject.manual("IAM.3", keys.missing or "", "the user's access keys"))
    elif _active_keys(keys):
        results.append(_iam_3(subject, _active_keys(keys), now))
    if login.missing is not None:
        results.append(subject.manual("IAM.5", login.missing, "whether the user has a console password"))
    elif login.ok:
        results.append(_iam_5(subject, read(index, calls["list-mfa-devices"])))
    usage = _credential_use(index, user, login, keys)
    if usage is not None:
        results.extend(
            _unused_credentials(subject, control, days, usage, now) for control, days in UNUSED_CREDENTIAL_DAYS.items()
        )
    return results


def _iam_2(index: Index, subject: Subject, calls: dict[str, ApiCall]) -> CheckResult:
    attached = read(index, calls["list-attached-user-policies"])
    inline = read(index, calls["list-user-policies"])
    attached_names = [str(p.get("PolicyName")) for p in items_of(attached.doc, "AttachedPolicies")]
    inline_names = strings_of(inline.doc, "PolicyNames")
    evidence = {"attached_policies": attached_names[:10], "inline_policies": inline_names[:10]}
    if attached_names or inline_names:
        kinds = []
        if attached_names:
            kinds.append(f"managed {', '.join(attached_names[:3])}")
        if inline_names:
            kinds.append(f"inline {', '.join(inline_names[:3])}")
        return subject.failed("IAM.2", f"Policies are attached directly to the user ({'; '.join(kinds)}).", **evidence)
    missing = [r.missing for r in (attached, inline) if r.missing is not None]
    if missing:
        return subject.manual("IAM.2", missing, "the user's policies")
    return subject.passed("IAM.2", "No policy is attached directly to the user.", **evidence)


def _iam_3(subject: Subject, active: list[dict[str, Any]], now: datetime) -> CheckResult:
    ages: dict[str, int | None] = {}
    for key in active:
        created = parse_time(key.get("CreateDate"))
        ages[str(key.get("AccessKeyId"))] = days_between(created, now) if created else None
    old = {k: age for k, age in ages.items() if age is not None and age > MAX_KEY_AGE_DAYS}
    if old:
        return subject.failed(
            "IAM.3",
            f"Active access key(s) older than {MAX_KEY_AGE_DAYS} days: "
            + ", ".join(f"{k} ({a} days)" for k, a in old.items())
            + ".",
            key_ages_days=ages,
        )
    if any(age is None for age in ages.values()):
        return subject.manual("IAM.3", "CreateDate missing from iam:ListAccessKeys", "the access keys' ages")
    return subject.passed(
        "IAM.3", f"Every active access key is at most {MAX_KEY_AGE_DAYS} days old.", key_ages_days=ages
    )


def _iam_5(subject: Subject, mfa: Read) -> CheckResult:
    if mfa.doc is None:
        return subject.manual("IAM.5", mfa.missing or "", "the user's MFA devices")
    devices = [str(d.get("SerialNumber")) for d in items_of(mfa.doc, "MFADevices")]
    return subject.verdict(
        "IAM.5",
        bool(devices),
        "The console user has an MFA device.",
        "The user has a console password and no MFA device.",
        mfa_devices=devices[:5],
    )


@dataclass(frozen=True)
class _Credential:
    """One console password or active access key, and when it was last used as far as we know."""

    name: str
    """'password' or the access key id."""
    last_use: datetime | None
    """Last use, or creation when it was never used; None when that could not be read."""
    created: datetime | None = None
    """For a key whose last use could not be read: its creation, which bounds how stale it can be."""
    missing: str | None = None
    """Why `last_use` is unknown."""


@dataclass(frozen=True)
class _CredentialUse:
    """A user's credentials, read once for every unused-credentials control (IAM.8, IAM.22)."""

    credentials: tuple[_Credential, ...]
    missing: tuple[str, ...]
    """Reads that failed before any credential could be listed (login profile, key listing)."""


def _credential_use(index: Index, user: dict[str, Any], login: Read, keys: Read) -> _CredentialUse | None:
    """When the user's password and active keys were last used (or, never used, created).

    None for a user known to have neither a password nor an active key: IAM.8 and IAM.22 do not
    apply to them. A password never used counts from its creation, like a key never used.
    """
    credentials: list[_Credential] = []
    missing: list[str] = []
    if login.ok and login.doc is not None:
        profile = obj(login.doc.get("LoginProfile"))
        when = parse_time(user.get("PasswordLastUsed")) or parse_time(profile.get("CreateDate"))
        credentials.append(_Credential("password", when))
    elif login.missing is not None:
        missing.append(login.missing)
    if keys.missing is not None:
        missing.append(keys.missing)
    for key in _active_keys(keys):
        key_id = str(key.get("AccessKeyId"))
        created = parse_time(key.get("CreateDate"))
        used = read(index, key_last_used_call(key_id))
        if used.doc is not None:
            when = parse_time(obj(used.doc.get("AccessKeyLastUsed")).get("LastUsedDate")) or created
            credentials.append(_Credential(key_id, when))
        else:
            credentials.append(_Credential(key_id, None, created=created, missing=used.missing or ""))
    if not credentials and not missing:
        return None
    return _CredentialUse(tuple(credentials), tuple(missing))


def _unused_credentials(
    subject: Subject, control_id: str, max_days: int, usage: _CredentialUse, now: datetime
) -> CheckResult:
    """IAM.8 or IAM.22: stale when a password or active key went unused (or, never used, unchanged
    since it was created) for more than `max_days` days. A key whose last use could not be read
    still passes when it is younger than the threshold: it cannot have been idle longer than it
    has existed."""
    days: dict[str, int | None] = {}
    missing = list(usage.missing)
    for credential in usage.credentials:
        when = credential.last_use
        if when is None and credential.created is not None and days_between(credential.created, now) <= max_days:
            when = credential.created
        elif when is None and credential.missing is not None:
            missing.append(credential.missing)
        days[credential.name] = days_between(when, now) if when else None
    stale = {name: d for name, d in days.items() if d is not None and d > max_days}
    if stale:
        listed = ", ".join(f"{n} ({d} days)" for n, d in stale.items())
        return subject.failed(
            control_id, f"Credentials unused for more than {max_days} days: {listed}.", days_since_use=days
        )
    if missing or any(d is None for d in days.values()):
        return subject.manual(control_id, missing or ["a credential's dates are missing"], "credential use")
    return subject.passed(
        control_id, f"Every credential was used (or created) within {max_days} days.", days_since_use=days
    )


# --- customer managed policies ---------------------------------------------------------------


def _policy_results(index: Index, account: str, region: str, max_resources: int) -> list[CheckResult]:
    listing, policies = _policies(index)
    gate = listing_gate(POLICY_CONTROLS, account, GLOBAL_REGION, listing, len(policies), "customer managed policies")
    if gate is not None:
        return gate
    results: list[CheckResult] = []
    for policy in capped(policies, max_resources):
        name = str(policy.get("PolicyName") or policy["Arn"].rsplit("/", 1)[-1])
        subject = Subject(POLICY, name, policy["Arn"], GLOBAL_REGION)
        version = read(index, policy_version_call(policy["Arn"], policy["DefaultVersionId"]))
        if version.doc is None:
            results.extend(subject.manual(c, version.missing or "", "the policy document") for c in POLICY_CONTROLS)
            continue
        found = statements(obj(version.doc.get("PolicyVersion")).get("Document"))
        evidence = {
            "default_version": policy["DefaultVersionId"],
            "attachments": policy.get("AttachmentCount"),
        }
        results.append(_iam_1(subject, found, evidence))
        results.append(_iam_21(subject, found, evidence))
        results.append(_kms_1(subject, found, evidence, region))
    return results


def _iam_1(subject: Subject, found: list[Statement], evidence: dict[str, Any]) -> CheckResult:
    admin = [s.label for s in found if s.allows and "*" in s.actions and "*" in s.resources]
    return subject.verdict(
        "IAM.1",
        not admin,
        "No statement allows '*' on '*'.",
        f"The policy allows every action on every resource (statement {', '.join(admin[:3])}).",
        admin_statements=admin[:5],
        **evidence,
    )


def _iam_21(subject: Subject, found: list[Statement], evidence: dict[str, Any]) -> CheckResult:
    wildcards = sorted(
        {a for s in found if s.allows for a in s.actions if a.count(":") == 1 and a.split(":", 1)[1] == "*"}
    )
    return subject.verdict(
        "IAM.21",
        not wildcards,
        "No statement allows a whole service ('service:*').",
        f"The policy allows whole services: {', '.join(wildcards[:5])}.",
        service_wildcards=wildcards[:10],
        **evidence,
    )


def _covers_every_key(resource: str, region: str) -> bool:
    return action_matches(resource, _ANY_KEY.format(partition=partition(region)))


def _kms_1(subject: Subject, found: list[Statement], evidence: dict[str, Any], region: str) -> CheckResult:
    offending = [
        s.label
        for s in found
        if s.allows
        and any(s.covers_action(a) for a in KMS_DECRYPT_ACTIONS)
        and any(_covers_every_key(r, region) for r in s.resources)
    ]
    return subject.verdict(
        "KMS.1",
        not offending,
        "No statement allows kms:Decrypt or kms:ReEncryptFrom on all keys.",
        f"The policy allows decryption with every KMS key (statement {', '.join(offending[:3])}).",
        decrypt_all_statements=offending[:5],
        **evidence,
    )
