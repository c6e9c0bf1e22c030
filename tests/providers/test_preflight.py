"""Preflight against the emulator: its checks cost calls only in create/update (none on no-op, refresh or
destroy), and each failing prerequisite names the guide step and what to do, with 0 writes to the org."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from providers.kit import CreateJournal, listed_identity
from providers.preflight import VALIDATION_CONNECTED_APP, PreflightFailed, PreflightProvider, _package_zip
from salesforce import SalesforceError
from tests.support.driver import Driver, configured
from tests.support.resource_program import Stack
from tests.support.seeds import aircall_named_credential_by_hand, auth_provider_by_hand, site_by_hand


def inputs(org: Any, **extra: Any) -> dict[str, Any]:
    return {
        "aircall_api_url": org.aircall_url,
        "aircall_api_id": org.aircall_api_id,
        "aircall_api_token": org.aircall_api_token,
        **extra,
    }


def failure(org: Any, **extra: Any) -> str:
    driver = Driver(configured(PreflightProvider(), org))
    org.reset_calls()
    with pytest.raises(PreflightFailed) as info:
        driver.create(**inputs(org, **extra))
    assert org.calls()["writes"] == 0
    return str(info.value)


def test_checks_run_on_create_and_update_only(org: Any) -> None:
    """The no-op `up` through the engine (0 calls, no ping) runs in test_base_engine.py."""
    driver = Driver(configured(PreflightProvider(), org))
    org.reset_calls()
    outs = driver.create(**inputs(org))
    calls = org.calls()
    # Organization, ConversationalIntelligenceSettings, PermissionSet, Site, UserPermissionAccess (may the
    # user run the health probes); two listMetadata (ConnectedApp + AuthProvider + CustomSite, NamedCredential
    # + ExternalClientApplication) finding none of the components a new stack creates; plus the Aircall
    # ping; with no site and no ECI_Connected_App yet, one check-only deploy of both and its status check.
    assert calls["total"] == 9 and calls["writes"] == 0 and calls["by_operation"]["aircall.ping"] == 1
    assert outs["anonymous_apex"] == "allowed"
    assert (
        calls["by_operation"]["metadata.deploy"] == calls["by_operation"]["metadata.checkDeployStatus"] == 1
    )
    assert outs["edition"] == "Enterprise" and outs["my_domain_url"] == org.instance_url
    assert org.aircall_api_token not in repr(driver.outs)

    org.reset_calls()
    assert driver.read().id == driver.id
    driver.delete()
    assert org.calls()["total"] == 0 and "aircall.ping" not in org.calls()["by_operation"]

    # A rotated token is a changed input: update runs the checks again.
    assert driver.diff(**inputs(org, aircall_api_token="rotated-token")).changes
    with pytest.raises(PreflightFailed, match="Aircall refused"):
        driver.update(**inputs(org, aircall_api_token="rotated-token"))


def test_a_failing_check_stops_the_engine_run_with_its_message_and_no_writes(
    org: Any, tmp_path: Path
) -> None:
    stack = Stack(org, tmp_path)
    stack.secrets = {"aircallToken": "rotated-token-value"}
    stack.resources = [
        {
            "name": "preflight",
            "type": "preflight.Preflight",
            "inputs": {**inputs(org), "aircall_api_token": "$secret:aircallToken"},
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
    # The provider's error reaches the CLI's diagnostics (in --json, its event stream), not its stderr.
    assert "Aircall refused the API ID and token" in result.text
    assert "Generate the API Key for Aircall" in result.text
    assert "rotated-token-value" not in result.stdout + result.text
    assert org.calls()["writes"] == 0


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
    driver = Driver(configured(PreflightProvider(), org))
    with pytest.raises(SalesforceError) as info:
        driver.create(**inputs(org))
    assert (info.value.kind, info.value.service, info.value.error_code) == ("failure", "Aircall", "HTTP_503")
    assert "cannot reach the Aircall API" in str(info.value)
    assert "eci-aircall:aircallApiUrl" in info.value.hint


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
    outs = Driver(configured(PreflightProvider(), org)).create(
        **inputs(org, oauth_app_kind="ExternalClientApp")
    )
    assert outs["unverified"] == []


def test_without_a_site_or_app_a_check_only_deploy_verifies_both_and_writes_nothing(org: Any) -> None:
    org.reset_calls()
    outs = Driver(configured(PreflightProvider(), org)).create(**inputs(org))
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


def test_blocked_connected_app_creation_does_not_matter_for_an_external_client_app(org: Any) -> None:
    org.settings(connected_app_creation_allowed=False)
    org.reset_calls()
    outs = Driver(configured(PreflightProvider(), org)).create(
        **inputs(org, oauth_app_kind="ExternalClientApp")
    )
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
    outs = Driver(provider).create(**inputs(org))
    assert outs["unverified"] == [
        "CustomSite VoiceConnector: a check-only deploy of minimal content was refused (Some limit.); the "
        "create will say whether this applies to the real component"
    ]


def test_a_validation_still_queued_after_the_poll_stays_unverified(org: Any) -> None:
    provider = configured(PreflightProvider(), org)
    client = provider.client
    client.metadata_validate_deploy = lambda zip_bytes, **kw: None  # type: ignore[method-assign]
    outs = Driver(provider).create(**inputs(org))
    assert [u.split(":")[0] for u in outs["unverified"]] == [
        "CustomSite VoiceConnector",
        "ConnectedApp ECI_Connected_App",
    ]


def test_malformed_aircall_url_is_a_check_failure(org: Any) -> None:
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
        **inputs(
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
    payload = _package_zip([("ConnectedApp", "ECI_Connected_App", path, VALIDATION_CONNECTED_APP)])
    org.reset_calls()
    started = time.monotonic()
    assert provider.client.metadata_validate_deploy(payload, artifact="test", max_wait_seconds=0.5) is None
    assert time.monotonic() - started < 2.0
    assert 1 < org.calls()["by_operation"]["metadata.checkDeployStatus"] <= 3


def test_preflight_reports_whether_the_user_may_run_the_health_probes(org: Any) -> None:
    org.settings(author_apex=False)
    outs = Driver(configured(PreflightProvider(), org)).create(**inputs(org))
    # Not a failure: the stack works without probes (eci-aircall:healthChecks false).
    assert outs["anonymous_apex"] == (
        "not permitted: the connecting user lacks Author Apex; the health probes need it (or set "
        "eci-aircall:healthChecks false)"
    )


# ---------------------------------------------------------------------------------------------------------
# Issue 14, "never changes what it did not create": on a new stack, the guide's components it is to create
# must not exist already; one that does is someone else's and needs the config's opt-in, 0 writes.
# ---------------------------------------------------------------------------------------------------------
def test_a_new_stack_refuses_an_aircall_credential_it_did_not_create_unless_opted_in(org: Any) -> None:
    aircall_named_credential_by_hand(org)
    text = failure(org)
    assert "NamedCredential Aircall (created " in text and "nothing was written" in text
    assert "pulumi config set eci-aircall:adoptAircallNamedCredential true" in text
    driver = Driver(configured(PreflightProvider(), org))
    driver.create(**inputs(org, adopt_aircall_named_credential=True))


def test_a_new_stack_with_shared_eci_create_refuses_another_connectors_artifacts(org: Any) -> None:
    auth_provider_by_hand(org)
    text = failure(org)
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
    text = failure(org)
    both = "AuthProvider ECI_Auth_Provider, NamedCredential ECI_Named_Credential"
    assert "AuthProvider ECI_Auth_Provider (created " in text
    assert "NamedCredential ECI_Named_Credential (created " in text
    assert text.count("eci-aircall:sharedEci adopt") == 1
    assert f"{both}: another voice connector may use it" in text


def test_the_check_runs_on_a_new_stack_only_and_a_cut_short_create_of_its_own_is_claimed(org: Any) -> None:
    driver = Driver(configured(PreflightProvider(), org))
    driver.create(**inputs(org))
    aircall_named_credential_by_hand(org)
    org.reset_calls()
    # A later run (update) of the same stack: the components are its own by then (state says so).
    driver.update(**inputs(org, permission_sets=["Voice_Connector_Permission"]))
    assert org.calls()["by_operation"].get("metadata.listMetadata", 0) <= 1  # the connected-app check only


def test_a_cut_short_create_of_its_own_is_claimed_only_by_the_record_id_it_returned(org: Any) -> None:
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
    with pytest.raises(PreflightFailed, match="NamedCredential Aircall"):
        Driver(provider).create(**inputs(org))
    identity = listed_identity(provider.client, "NamedCredential", "Aircall", artifact="test")
    journal.made(entry, identity, *key)
    claimed = configured(PreflightProvider(), org)
    claimed.stack = provider.stack
    Driver(claimed).create(**inputs(org))

