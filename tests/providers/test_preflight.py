"""Preflight against the emulator: its checks cost calls only in create/update (none on no-op, refresh or
destroy), and each failing prerequisite names the guide step and what to do, with 0 writes to the org."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from providers.preflight import PreflightFailed, PreflightProvider
from tests.providers.conftest import Driver, configured
from tests.providers.program import Stack


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
    # Organization, ConversationalIntelligenceSettings, PermissionSet, Site, ConnectedApp; plus the Aircall
    # ping.
    assert calls["total"] == 5 and calls["writes"] == 0 and calls["by_operation"]["aircall.ping"] == 1
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
    assert "Aircall refused the API ID and token" in result.stderr
    assert "Generate the API Key for Aircall" in result.stderr
    assert "rotated-token-value" not in result.stdout + result.stderr
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
    mdapi = org.mdapi()
    mdapi.CustomSite.create(
        [
            mdapi.CustomSite(
                fullName="Other",
                masterLabel="Other",
                active=True,
                indexPage="SiteLogin",
                clickjackProtectionLevel="SameOriginOnly",
                allowHomePage=True,
                allowStandardIdeasPages=True,
                allowStandardLookups=True,
                allowStandardPortalPages=True,
                allowStandardSearch=True,
                browserXssProtection=True,
                contentSniffingProtection=True,
                referrerPolicyOriginWhenCrossOrigin=True,
                siteType="Visualforce",
            )
        ]
    )
    outs = Driver(configured(PreflightProvider(), org)).create(
        **inputs(org, oauth_app_kind="ExternalClientApp")
    )
    assert outs["unverified"] == []


def test_without_a_site_or_app_the_unverifiable_checks_are_reported(org: Any) -> None:
    outs = Driver(configured(PreflightProvider(), org)).create(**inputs(org))
    text = " ".join(outs["unverified"])
    assert "Set Up the Salesforce Site" in text and "eci-aircall:oauthAppKind externalClientApp" in text


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
    assert org.calls()["total"] == 5 + 2
