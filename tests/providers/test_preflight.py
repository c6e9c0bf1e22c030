"""Preflight against the emulator: its checks run in ``check`` (so in every preview) when Preflight is new or
its inputs changed, never on a no-op, refresh or destroy; create/update take that run's verdict. Every blocker
is listed at once, each naming the guide step or config key that fixes it, with 0 writes to the org; where a
guide component already exists, the run says who made it, when, and what `up` would do with it."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from providers.kit import CreateJournal, listed_identity
from providers.preflight import (
    VALIDATION_CONNECTED_APP,
    PreflightFailed,
    PreflightProvider,
    package_zip,
)
from salesforce import SalesforceError, UsageError
from tests.support.driver import Driver, configured
from tests.support.kept_secrets import kept_secret
from tests.support.resource_program import Stack
from tests.support.seeds import (
    aircall_named_credential_by_hand,
    auth_provider_by_hand,
    colleague_session,
    site_by_hand,
)


def inputs(org: Any, **extra: Any) -> dict[str, Any]:
    return {
        "__provider": "p",
        "aircall_api_url": org.aircall_url,
        "aircall_api_id": org.aircall_api_id,
        "aircall_api_token": org.aircall_api_token,
        **extra,
    }


def args(org: Any, **extra: Any) -> dict[str, Any]:
    """The same, as keyword arguments of the test Driver (which adds the provider itself)."""
    return {k: v for k, v in inputs(org, **extra).items() if k != "__provider"}


def reasons(org: Any, olds: dict[str, Any] | None = None, **extra: Any) -> list[tuple[str, str]]:
    """(property, reason) of every check failure of a new Preflight, as a preview reports them; 0 writes."""
    provider = configured(PreflightProvider(), org)
    writes = org.calls()["writes"]
    result = provider.check(olds or {}, inputs(org, **extra))
    assert org.calls()["writes"] == writes
    return [(f.property, f.reason) for f in result.failures]


def failure(org: Any, **extra: Any) -> str:
    """The check failures' text (there must be some)."""
    found = reasons(org, **extra)
    assert found
    return "\n".join(reason for _, reason in found)


# ---------------------------------------------------------------------------------------------------------
# When the checks run, and what they cost.
# ---------------------------------------------------------------------------------------------------------
def test_checks_run_in_check_and_create_takes_their_verdict(org: Any) -> None:
    """The no-op `up` through the engine (0 calls, no ping) runs in test_base_engine.py."""
    provider = configured(PreflightProvider(), org)
    org.reset_calls()
    checked = provider.check({}, inputs(org))
    assert checked.failures == []
    calls = org.calls()
    # Organization, ConversationalIntelligenceSettings, PermissionSet, Site, UserPermissionAccess (may the
    # user run the health probes); two listMetadata (ConnectedApp + AuthProvider + CustomSite, NamedCredential
    # + ExternalClientApplication) finding none of the components a new stack creates; plus the Aircall
    # ping; with no site and no ECI_Connected_App yet, one check-only deploy of both and its status check.
    assert calls["total"] == 9 and calls["writes"] == 0 and calls["by_operation"]["aircall.ping"] == 1
    assert (
        calls["by_operation"]["metadata.deploy"] == calls["by_operation"]["metadata.checkDeployStatus"] == 1
    )

    # The engine's create follows in the same process, with the inputs check returned: no call of its own.
    org.reset_calls()
    created = provider.create(dict(checked.inputs))
    assert org.calls()["total"] == 0
    outs = created.outs or {}
    assert outs["anonymous_apex"] == "allowed" and outs["unverified"] == []
    assert outs["edition"] == "Enterprise" and outs["my_domain_url"] == org.instance_url
    # The token is kept only as a secret output (encrypted in state).
    assert kept_secret(outs["aircall_api_token"]) == org.aircall_api_token
    others = {k: v for k, v in outs.items() if k != "aircall_api_token"}
    assert org.aircall_api_token not in repr(others)

    # Unchanged inputs (the old inputs are the ones check returned last time): nothing to check, no call.
    org.reset_calls()
    again = provider.check(dict(checked.inputs), inputs(org))
    assert again.failures == [] and org.calls()["total"] == 0

    # A rotated token is a changed input: check runs again and names the key that fixes it.
    found = reasons(org, olds=dict(checked.inputs), aircall_api_token="rotated-token")
    assert [prop for prop, _ in found] == ["aircall_api_token"]
    assert "Aircall refused" in found[0][1] and "rotated-token" not in found[0][1]


def test_read_and_delete_make_no_call(org: Any) -> None:
    driver = Driver(configured(PreflightProvider(), org))
    driver.create(**args(org))
    org.reset_calls()
    assert driver.read().id == driver.id
    driver.delete()
    assert org.calls()["total"] == 0 and "aircall.ping" not in org.calls()["by_operation"]


def test_a_create_that_check_did_not_see_runs_the_checks_itself_and_raises_every_blocker(org: Any) -> None:
    provider = configured(PreflightProvider(), org)
    org.reset_calls()
    outs = provider.create(inputs(org)).outs or {}
    assert org.calls()["total"] == 9 and outs["edition"] == "Enterprise"

    org.settings(edition="Professional", eci_enabled=False)
    with pytest.raises(PreflightFailed) as info:
        configured(PreflightProvider(), org).create(inputs(org))
    text = str(info.value)
    assert "2 prerequisites are not met; nothing was written" in text
    assert text.index("Professional Edition") < text.index("not enabled")


def test_a_check_verdict_is_for_its_own_inputs_only(org: Any) -> None:
    provider = configured(PreflightProvider(), org)
    checked = provider.check({}, inputs(org))
    assert checked.failures == []
    org.reset_calls()
    # Other inputs than the ones checked (here: another integration username): create checks them itself.
    provider.create({**checked.inputs, "integration_username": "someone-else@example.com"})
    assert org.calls()["total"] > 0


def test_a_failing_check_stops_the_engine_run_with_its_message_and_no_writes(
    org: Any, tmp_path: Path
) -> None:
    stack = Stack(org, tmp_path)
    stack.secrets = {"aircallToken": "rotated-token-value"}
    stack.resources = [
        {
            "name": "preflight",
            "type": "preflight.Preflight",
            "inputs": {**args(org), "aircall_api_token": "$secret:aircallToken"},
        },
        {
            "name": "user",
            "type": "integration_user.IntegrationUser",
            "inputs": {
                "username": "never@example.com",
                "email": "n@example.com",
                "last_name": "N",
                "alias": "n",
            },
            "opts": {"depends_on": ["preflight"]},
        },
    ]
    org.reset_calls()
    result = stack.up(check=False)
    assert result.returncode != 0
    # The provider's check failure reaches the CLI's diagnostics (in --json, its event stream).
    assert "Aircall refused the API ID and token" in result.text
    assert "Generate the API Key for Aircall" in result.text
    assert "rotated-token-value" not in result.stdout + result.text
    assert org.calls()["writes"] == 0


# ---------------------------------------------------------------------------------------------------------
# Every blocker at once.
# ---------------------------------------------------------------------------------------------------------
def test_every_blocker_is_listed_at_once_in_the_guides_order_each_with_its_fix(org: Any) -> None:
    org.settings(edition="Professional", eci_enabled=False, connected_app_creation_allowed=False)
    org.reset_calls()
    found = reasons(
        org, aircall_api_token="wrong-token", permission_sets=["Voice_Connector_Permission", "Not_Installed"]
    )
    texts = [reason for _, reason in found]
    expected = [
        ("", "Professional Edition", "EDITIONS"),
        ("", "Einstein Conversation Insights is not enabled", "Setup → Einstein Conversation Insights"),
        ("permission_sets", "Not_Installed not found", "eci-aircall:permissionSets"),
        ("oauth_app_kind", "does not allow creating new connected apps", "oauthAppKind externalClientApp"),
        ("aircall_api_token", "Aircall refused", "eci-aircall:aircallApiToken"),
    ]
    assert [prop for prop, _ in found] == [prop for prop, _, _ in expected], texts
    for text, (_, what, fix) in zip(texts, expected, strict=True):
        assert what in text and fix in text
    assert org.calls()["writes"] == 0


def test_a_read_that_fails_is_one_blocker_with_its_fix_however_many_checks_meet_it(org: Any) -> None:
    for operation in ("rest.*", "metadata.*"):  # every Salesforce call (the Aircall ping is not one)
        org.fault(kind="request_limit_exceeded", operation=operation, count=100)
    found = reasons(org)
    assert len(found) == 1, found
    assert found[0][1].startswith(
        "Edition could not be checked: Preflight edition: Salesforce REQUEST_LIMIT_EXCEEDED: "
    )
    assert "rolling 24-hour limit" in found[0][1]


def test_unsupported_edition_names_the_editions(org: Any) -> None:
    org.settings(edition="Professional")
    text = failure(org)
    assert "Professional Edition" in text and "Enterprise, Performance and Unlimited" in text


def test_eci_not_enabled_says_where_to_turn_it_on(org: Any) -> None:
    org.settings(eci_enabled=False)
    text = failure(org)
    assert "not enabled" in text and "Setup → Einstein Conversation Insights" in text


def test_missing_package_permission_sets_point_to_the_voice_connector_package(org: Any) -> None:
    text = failure(org, permission_sets=["Voice_Connector_Permission", "Not_Installed_Set"])
    assert (
        "Not_Installed_Set" in text and "Voice_Connector_Permission" not in text.split("—")[0].split(":")[-1]
    )
    assert "Voice Connector app" in text and "eci-aircall:permissionSets" in text


def test_wrong_aircall_credentials_name_the_guide_step_without_the_token(org: Any) -> None:
    text = failure(org, aircall_api_token="definitely-wrong-token")
    assert "Generate the API Key for Aircall" in text and "eci-aircall:aircallApiToken" in text
    for leaked in ("definitely-wrong-token", base64.b64encode(b"definitely-wrong-token").decode()):
        assert leaked not in text


def test_an_aircall_that_keeps_failing_is_its_failure_not_a_usage_error(org: Any) -> None:
    org.fault(kind="http_503", operation="aircall.ping", count=50)
    found = reasons(org)
    assert [prop for prop, _ in found] == ["aircall_api_url"]
    assert "cannot reach the Aircall API" in found[0][1] and "eci-aircall:aircallApiUrl" in found[0][1]
    # A create that runs the checks itself raises it as what it is: Aircall's failure, not a setting of ours.
    with pytest.raises(SalesforceError) as info:
        configured(PreflightProvider(), org).create(inputs(org))
    assert (info.value.kind, info.value.service, info.value.error_code) == ("failure", "Aircall", "HTTP_503")
    assert "cannot reach the Aircall API" in str(info.value)
    assert "eci-aircall:aircallApiUrl" in info.value.hint


def test_an_insecure_aircall_url_is_a_usage_error_before_any_call_to_it(org: Any) -> None:
    found = reasons(org, aircall_api_url="http://api.aircall.example/v1")
    assert [prop for prop, _ in found] == ["aircall_api_url"]
    assert "not https://" in found[0][1]
    with pytest.raises(UsageError):
        configured(PreflightProvider(), org).create(
            inputs(org, aircall_api_url="http://api.aircall.example/v1")
        )
    assert "aircall.ping" not in org.calls()["by_operation"]


def test_shared_eci_skip_requires_the_shared_artifacts(org: Any) -> None:
    text = failure(org, shared_eci="skip")
    for missing in (
        "ConnectedApp ECI_Connected_App",
        "AuthProvider ECI_Auth_Provider",
        "CustomSite VoiceConnector",
    ):
        assert missing in text
    assert "eci-aircall:sharedEci" in text


def test_an_existing_site_proves_the_domain_is_registered(org: Any) -> None:
    site_by_hand(org, fullName="Other")
    org.reset_calls()
    driver = Driver(configured(PreflightProvider(), org))
    outs = driver.create(**args(org, oauth_app_kind="ExternalClientApp"))
    assert outs["unverified"] == [] and "metadata.deploy" not in org.calls()["by_operation"]


def test_without_a_site_or_app_a_check_only_deploy_verifies_both_and_writes_nothing(org: Any) -> None:
    """The check-only deploy is a validation: the emulator runs it in a store transaction it rolls back, and
    a request whose writes were all rolled back is not counted as a write (sf_emulator store.transaction)."""
    org.reset_calls()
    outs = Driver(configured(PreflightProvider(), org)).create(**args(org))
    assert outs["unverified"] == []
    calls = org.calls()
    assert calls["by_operation"]["metadata.deploy"] == 1 and calls["writes"] == 0
    assert org.sf().query("SELECT Id FROM Site")["records"] == []


def test_unregistered_site_domain_fails_preflight_with_the_guide_step(org: Any) -> None:
    org.settings(site_domain_registered=False)
    text = failure(org)
    assert "Set Up the Salesforce Site, step 2" in text and "Register My Salesforce Site Domain" in text
    assert "You must register your Salesforce Sites domain" in text


def test_blocked_connected_app_creation_fails_preflight_naming_oauth_app_kind(org: Any) -> None:
    org.settings(connected_app_creation_allowed=False)
    text = failure(org)
    assert "pulumi config set eci-aircall:oauthAppKind externalClientApp" in text
    assert "Creation of connected apps is disabled" in text


def test_both_refusals_of_the_check_only_deploy_are_listed(org: Any) -> None:
    org.settings(connected_app_creation_allowed=False, site_domain_registered=False)
    found = reasons(org)
    assert [prop for prop, _ in found] == ["", "oauth_app_kind"]
    assert "Register My Salesforce Site Domain" in found[0][1] and "oauthAppKind" in found[1][1]


def test_blocked_connected_app_creation_does_not_matter_for_an_external_client_app(org: Any) -> None:
    org.settings(connected_app_creation_allowed=False)
    org.reset_calls()
    driver = Driver(configured(PreflightProvider(), org))
    outs = driver.create(**args(org, oauth_app_kind="ExternalClientApp"))
    assert outs["unverified"] == [] and org.calls()["by_operation"]["metadata.deploy"] == 1


def test_a_refusal_of_another_kind_is_reported_unverified_not_fatal(org: Any) -> None:
    # A refusal the guide has no step for (the org's own limit, say): the minimal component is not the real
    # one, so it is reported, and the real create will say whether it applies.
    provider = configured(PreflightProvider(), org)
    client = provider.client
    real = client.metadata_validate_deploy

    def refused(zip_bytes: bytes, *, artifact: str, max_wait_seconds: float = 60.0) -> dict[str, Any]:
        result = real(zip_bytes, artifact=artifact)
        assert result is not None
        result["details"] = {"componentFailures": [{"componentType": "CustomSite", "problem": "Some limit."}]}
        return result

    client.metadata_validate_deploy = refused  # type: ignore[method-assign]
    outs = Driver(provider).create(**args(org))
    assert outs["unverified"] == [
        "CustomSite VoiceConnector: a check-only deploy of minimal content was refused (Some limit.); the "
        "create will say whether this applies to the real component"
    ]


def test_a_validation_still_queued_after_the_poll_stays_unverified(org: Any) -> None:
    provider = configured(PreflightProvider(), org)
    client = provider.client
    client.metadata_validate_deploy = lambda zip_bytes, **kw: None  # type: ignore[method-assign]
    outs = Driver(provider).create(**args(org))
    assert [u.split(":")[0] for u in outs["unverified"]] == [
        "CustomSite VoiceConnector",
        "ConnectedApp ECI_Connected_App",
    ]


def test_malformed_aircall_url_is_a_check_failure_without_a_call(org: Any) -> None:
    provider = configured(PreflightProvider(), org)
    org.reset_calls()
    result = provider.check({}, inputs(org, aircall_api_url="api.aircall.io/v1", shared_eci="sometimes"))
    assert {f.property for f in result.failures} == {"aircall_api_url", "shared_eci"}
    assert org.calls()["total"] == 0


def test_unknown_profiles_and_usernames_name_their_config_keys(org: Any) -> None:
    text = failure(
        org,
        profiles={
            "eci-aircall:integrationUser.profile": ["System Administrator"],
            "eci-aircall:connectedAppProfiles": ["Standard User", "Standrd User"],
        },
    )
    assert "eci-aircall:connectedAppProfiles: 'Standrd User'" in text
    assert "integrationUser.profile" not in text
    text = failure(org, usernames={"eci-aircall:siteAdmin": "nobody@nowhere.example"})
    assert "eci-aircall:siteAdmin = 'nobody@nowhere.example'" in text


def test_existing_profiles_and_usernames_pass_with_one_query_each(org: Any) -> None:
    driver = Driver(configured(PreflightProvider(), org))
    org.reset_calls()
    driver.create(
        **args(
            org,
            profiles={"eci-aircall:connectedAppProfiles": ["Standard User", "System Administrator"]},
            usernames={"eci-aircall:siteAdmin": org.username},
        )
    )
    # 7 reads, the ping and the check-only deploy with its status check (9), plus one query each.
    assert org.calls()["total"] == 9 + 2


def test_a_validation_in_progress_is_polled_until_done(org: Any) -> None:
    # Salesforce runs deploys asynchronously: checkDeployStatus answers InProgress first (emulator setting).
    org.settings(deploy_checks_in_progress=2, site_domain_registered=False)
    org.reset_calls()
    text = failure(org)
    assert "Set Up the Salesforce Site, step 2" in text
    assert org.calls()["by_operation"]["metadata.checkDeployStatus"] == 3


def test_polling_a_validation_is_bounded(org: Any) -> None:
    org.settings(deploy_checks_in_progress=100)
    provider = configured(PreflightProvider(), org)
    path = "connectedApps/ECI_Connected_App.connectedApp"
    payload = package_zip([("ConnectedApp", "ECI_Connected_App", path, VALIDATION_CONNECTED_APP)])
    org.reset_calls()
    started = time.monotonic()
    assert provider.client.metadata_validate_deploy(payload, artifact="test", max_wait_seconds=0.5) is None
    assert time.monotonic() - started < 2.0
    assert 1 < org.calls()["by_operation"]["metadata.checkDeployStatus"] <= 3


def test_preflight_reports_whether_the_user_may_run_the_health_probes(org: Any) -> None:
    org.settings(author_apex=False)
    outs = Driver(configured(PreflightProvider(), org)).create(**args(org))
    # Not a failure: the stack works without probes (eci-aircall:healthChecks false).
    assert outs["anonymous_apex"] == (
        "not permitted: the connecting user lacks Author Apex; the health probes need it (or set "
        "eci-aircall:healthChecks false)"
    )


# ---------------------------------------------------------------------------------------------------------
# In a preview, inputs that are other resources' outputs are unknown.
# ---------------------------------------------------------------------------------------------------------
def test_a_preview_skips_only_the_checks_that_read_an_unknown_input(
    org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    org.settings(edition="Professional")
    provider = configured(PreflightProvider(), org)
    org.reset_calls()
    result = provider.check({}, inputs(org, aircall_api_token=rpc.UNKNOWN, permission_sets=[rpc.UNKNOWN]))
    assert [f.property for f in result.failures] == [""]  # the edition: it reads no input
    assert "aircall.ping" not in org.calls()["by_operation"]
    err = capsys.readouterr().err
    assert (
        "Preflight: not checked in this preview, as inputs they read are not known until `up`: Voice "
        "Connector package permission sets, Aircall API key" in err
    )

    # Without blockers, a run with unknowns is no verdict for create: it checks the real values itself.
    org.settings(edition="Enterprise")
    checked = provider.check({}, inputs(org, aircall_api_token=rpc.UNKNOWN))
    assert checked.failures == []
    org.reset_calls()
    provider.create(inputs(org))
    assert org.calls()["by_operation"]["aircall.ping"] == 1


# ---------------------------------------------------------------------------------------------------------
# Issue 14, "never changes what it did not create": on a new stack, the guide's components it is to create
# must not exist already; one that does is someone else's and needs the config's opt-in, 0 writes. Issue 23:
# the preview says who made it, when, and what `up` would do with it.
# ---------------------------------------------------------------------------------------------------------
def test_a_new_stack_refuses_an_aircall_credential_it_did_not_create_unless_opted_in(
    org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    aircall_named_credential_by_hand(org, colleague_session(org))
    found = reasons(org)
    assert [prop for prop, _ in found] == ["adopt_aircall_named_credential"]
    text = found[0][1]
    assert "NamedCredential Aircall (created " in text and " by Jane Admin)" in text
    assert "`up` would refuse" in text and "nothing was written" in text
    assert "pulumi config set eci-aircall:adoptAircallNamedCredential true" in text

    capsys.readouterr()
    driver = Driver(configured(PreflightProvider(), org))
    driver.create(**args(org, adopt_aircall_named_credential=True))
    notices = [line for line in capsys.readouterr().err.splitlines() if "NamedCredential Aircall" in line]
    assert len(notices) == 1, notices
    assert notices[0].startswith("Preflight: NamedCredential Aircall is already in the org (created ")
    assert "by Jane Admin); `up` will adopt it (eci-aircall:adoptAircallNamedCredential true)" in notices[0]


def test_a_new_stack_with_shared_eci_create_refuses_another_connectors_artifacts(org: Any) -> None:
    auth_provider_by_hand(org)
    found = reasons(org)
    assert [prop for prop, _ in found] == ["shared_eci"]
    text = found[0][1]
    assert "AuthProvider ECI_Auth_Provider (created " in text and "NamedCredential" not in text
    assert "eci-aircall:sharedEci adopt" in text and "eci-aircall:sharedEci skip" in text
    # Opting in (adopt) turns the same org into a pass of this check (the other shared ones must exist then).
    adopt = failure(org, shared_eci="adopt")
    assert "do not exist" in adopt and "not created by this stack" not in adopt


def test_the_fix_for_several_refused_artifacts_is_given_once(org: Any) -> None:
    """Issue 23: the shared artifacts all take the same opt-in, so it is said once, naming each of them."""
    auth_provider_by_hand(org)
    md = org.mdapi()
    md.NamedCredential.create(
        md.NamedCredential(fullName="ECI_Named_Credential", label="ECI Named Credential",
                           endpoint="https://old.example/", protocol="NoAuthentication",
                           principalType="Anonymous")
    )  # fmt: skip
    found = reasons(org)
    assert [prop for prop, _ in found] == ["shared_eci"]
    text = found[0][1]
    assert text.startswith("eci-aircall INVALID_INPUT: AuthProvider ECI_Auth_Provider (created ")
    assert "; NamedCredential ECI_Named_Credential (created " in text
    assert "are already in this org and were not created by this stack" in text
    assert text.count("eci-aircall:sharedEci adopt") == 1


def test_shared_components_that_exist_are_said_to_be_adopted_or_left_as_they_are(
    org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    auth_provider_by_hand(org)
    capsys.readouterr()
    reasons(org, shared_eci="adopt")
    err = capsys.readouterr().err
    assert "Preflight: AuthProvider ECI_Auth_Provider is already in the org (created " in err
    assert "`up` will adopt it (eci-aircall:sharedEci adopt)" in err
    reasons(org, shared_eci="skip")
    assert "`up` uses it as it is (eci-aircall:sharedEci skip)" in capsys.readouterr().err


def test_an_existing_integration_user_is_named_with_who_made_it(
    org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    session = colleague_session(org, "Bob", "Rep")
    assert session
    found = reasons(org, integration_username="bob.rep@colleague.example")
    assert [prop for prop, _ in found] == ["integration_username"]
    assert "(created " in found[0][1] and "by Emulator Admin)" in found[0][1]
    assert "eci-aircall:integrationUser.adoptExisting true" in found[0][1]
    capsys.readouterr()
    assert reasons(org, integration_username="bob.rep@colleague.example", adopt_existing_user=True) == []
    assert "`up` will use it as it is (eci-aircall:integrationUser.adoptExisting true)" in (
        capsys.readouterr().err
    )


def test_the_check_runs_on_a_new_stack_only_and_a_cut_short_create_of_its_own_is_claimed(org: Any) -> None:
    driver = Driver(configured(PreflightProvider(), org))
    driver.create(**args(org))
    aircall_named_credential_by_hand(org)
    org.reset_calls()
    # A later run (update) of the same stack: the components are its own by then (state says so).
    driver.update(**args(org, permission_sets=["Voice_Connector_Permission"]))
    assert org.calls()["by_operation"].get("metadata.listMetadata", 0) <= 1  # the connected-app check only


def test_a_cut_short_create_of_its_own_is_claimed_only_by_the_record_id_it_returned(
    org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21, M1: a new stack whose own create of the credential was cut short. Its journal entry claims
    the credential only once it names the record Id the create returned; one begun and never answered proves
    nothing (the same admin may have made it by hand, or for another stack), so Preflight refuses it."""
    provider = configured(PreflightProvider(), org)
    provider.stack = "eci-aircall/claims"
    journal = CreateJournal()
    key = (provider.org_key(), provider.stack, "NamedCredential Aircall")
    entry = journal.begin(*key)
    time.sleep(1.1)  # createdDate has second precision
    aircall_named_credential_by_hand(org)
    refused = provider.check({}, inputs(org)).failures
    assert len(refused) == 1 and "NamedCredential Aircall" in refused[0].reason
    identity = listed_identity(provider.client, "NamedCredential", "Aircall", artifact="test")
    journal.made(entry, identity, *key)
    claimed = configured(PreflightProvider(), org)
    claimed.stack = provider.stack
    capsys.readouterr()
    Driver(claimed).create(**args(org))
    said = capsys.readouterr().err
    assert "from a create of this stack that was cut short: `up` takes it as its own" in said
