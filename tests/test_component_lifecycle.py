"""The acceptance lifecycle kit (tests/support/lifecycle.py) over the whole program (`__main__.py` →
EciAircallIntegration),
against the org emulator: sharedEci = create, adopt (shared artifacts seeded first through the ordinary APIs,
as another voice connector's setup would have left them) and skip, and an org that blocks connected apps,
configured with an external client app.

The kit's "remove a resource" step needs a config edit that only deletes; in this program every removal
(sharedEci → skip) also updates Preflight (it is told to check the shared artifacts instead), so that step is
proven separately in `test_switching_to_skip_deletes_exactly_the_shared_artifacts`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.lifecycle import CliRunner, Lifecycle
from tests.test_component_engine import NS, REPO, STACK, USERNAME, engine, stack_config

SHARED_NAMES = {
    "eci-aircall-oauth-consumer",
    "eci-aircall-auth-provider",
    "eci-aircall-oauth-app",
    "eci-aircall-site",
    "eci-aircall-eci-named-credential",
    "eci-aircall-site-guest-user",
    "eci-aircall-guest-voice-connector",
    "eci-aircall-guest-ci-integration-user",
}


def _rows(sf: Any, soql: str) -> list[tuple[Any, ...]]:
    records = sf.query_all(soql)["records"]
    return sorted(tuple(_flat(v) for k, v in r.items() if k != "attributes") for r in records)


def _flat(value: Any) -> Any:
    # Relationship fields come back as nested records ({"attributes": ..., "Username": ...}).
    if isinstance(value, dict):
        return tuple(v for k, v in value.items() if k != "attributes")
    return value


def org_snapshot(org: EmulatorHandle) -> dict[str, Any]:
    """Everything the program touches, read as an admin would (SOQL and Metadata reads)."""
    sf = org.sf()
    eca: Any = org.mdapi().ExternalClientApplication.read(["ECI_Connected_App"])
    return {
        "connected_apps": _rows(sf, "SELECT Name FROM ConnectedApplication"),
        "external_client_apps": [eca.fullName] if getattr(eca, "fullName", None) else [],
        "auth_providers": _rows(sf, "SELECT DeveloperName FROM AuthProvider"),
        "named_credentials": _rows(sf, "SELECT DeveloperName, Endpoint FROM NamedCredential"),
        "sites": _rows(sf, "SELECT Name FROM Site"),
        "users": _rows(sf, "SELECT Username, IsActive FROM User"),
        "assignments": _rows(sf, "SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment"),
    }


def org_restored(before: dict[str, Any], after: dict[str, Any]) -> None:
    """As before, except that Salesforce never deletes users: those the stack made are left inactive."""
    for key in before:
        if key == "users":
            continue
        assert after[key] == before[key], f"destroy left {key} different: {before[key]} -> {after[key]}"
    old_users = dict(before["users"])
    for username, active in after["users"]:
        if username in old_users:
            assert active == old_users[username], f"destroy changed {username}'s IsActive"
        else:
            assert active is False, f"{username} is still active after destroy"
    assert USERNAME in {u for u, _ in after["users"]}


def seed_shared_eci(org: EmulatorHandle) -> None:
    """What an earlier voice connector's setup leaves in the org (the guide's shared tasks), done as an admin
    would: Metadata API for the connected app, auth provider, site and named credential; REST for the guest
    user and its permission sets."""
    sf = org.sf()
    md = org.mdapi()
    callback = f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    md.ConnectedApp.create(
        md.ConnectedApp(
            fullName="ECI_Connected_App",
            label="ECI Connected App",
            contactEmail="other-connector@acme.example",
            oauthConfig=md.ConnectedAppOauthConfig(
                callbackUrl=callback, scopes=["Content", "Api", "Web", "RefreshToken"]
            ),
        )
    )
    app_id = sf.query("SELECT Id FROM ConnectedApplication WHERE Name = 'ECI Connected App'")["records"][0][
        "Id"
    ]
    creds = _consumer_credentials(org, app_id)
    md.AuthProvider.create(
        md.AuthProvider(
            fullName="ECI_Auth_Provider",
            friendlyName="ECI Auth Provider",
            providerType="Salesforce",
            consumerKey=creds["key"],
            consumerSecret=creds["secret"],
        )
    )
    md.CustomSite.create(
        md.CustomSite(
            fullName="VoiceConnector",
            masterLabel="VoiceConnector",
            active=True,
            indexPage="SiteLogin",
            clickjackProtectionLevel="SameOriginOnly",
            siteAdmin=org.username,
            siteGuestRecordDefaultOwner=org.username,
            siteType="Visualforce",
            allowHomePage=True,
            allowStandardIdeasPages=True,
            allowStandardLookups=True,
            allowStandardPortalPages=True,
            allowStandardSearch=True,
            browserXssProtection=True,
            contentSniffingProtection=True,
            referrerPolicyOriginWhenCrossOrigin=True,
        )
    )
    md.NamedCredential.create(
        md.NamedCredential(
            fullName="ECI_Named_Credential",
            label="ECI Named Credential",
            endpoint=org.instance_url,
            principalType="NamedUser",
            protocol="Oauth",
            authProvider="ECI_Auth_Provider",
            oauthScope="refresh_token web api content",
            generateAuthorizationHeader=True,
        )
    )
    guest_id = sf.query("SELECT GuestUserId FROM Site WHERE Name = 'VoiceConnector'")["records"][0][
        "GuestUserId"
    ]
    sf.User.update(guest_id, {"IsActive": True})
    for name in ("Voice_Connector_Permission", "Conversation_Insights_Integration_User"):
        ps_id = sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")["records"][0]["Id"]
        sf.PermissionSetAssignment.create({"AssigneeId": guest_id, "PermissionSetId": ps_id})


def _consumer_credentials(org: EmulatorHandle, app_id: str) -> dict[str, str]:
    """Setup's "Manage Consumer Details", through its API (Connect REST OAuth credentials)."""
    session = org.session()
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    base = f"{org.instance_url}/services/data/v63.0/apps/oauth/credentials/{app_id}"
    consumers = session.get(base, timeout=30).json()
    consumer_id = consumers["consumers"][0]["id"] if "consumers" in consumers else consumers[0]["id"]
    body = session.get(f"{base}/{consumer_id}", params={"part": "keyandsecret"}, timeout=30).json()
    return {"key": body["key"], "secret": body["secret"]}


def lifecycle(org: EmulatorHandle, tmp_path: Path, **overrides: str) -> Lifecycle:
    config, secrets = stack_config(org, **overrides)
    shared = overrides.get("sharedEci", "create") != "skip"
    return Lifecycle(
        runner=CliRunner(REPO, STACK, tmp_path / "state"),
        config=config,
        secrets=secrets,
        secret_values=[org.access_token, org.aircall_api_token],
        # A new contact email and Aircall endpoint: in-place updates of exactly the artifacts that carry them
        # (the integration user has its own email in the demo stack file, so it stays the same).
        change_config={
            f"{NS}:contactEmail": "ops@demo.example",
            f"{NS}:aircallEndpoint": "https://api.eu.aircall.io/",
        },
        expected_change_ops={
            "eci-aircall-aircall-named-credential": "update",
            **({"eci-aircall-oauth-app": "update", "eci-aircall-site": "update"} if shared else {}),
        },
        remove_config={},
        expected_removed=set(),
        snapshot=lambda: org_snapshot(org),
        org_restored=org_restored,
    )


def _report(label: str, timings: dict[str, float]) -> None:
    print(f"\n{label}: " + ", ".join(f"{k}={v:.1f}s" for k, v in timings.items()))


def test_lifecycle_shared_eci_create(org: EmulatorHandle, tmp_path: Path) -> None:
    _report("lifecycle create", lifecycle(org, tmp_path).run())


def test_lifecycle_shared_eci_adopt_keeps_the_shared_artifacts(org: EmulatorHandle, tmp_path: Path) -> None:
    seed_shared_eci(org)
    seeded = org_snapshot(org)
    kit = lifecycle(org, tmp_path, sharedEci="adopt")
    _report("lifecycle adopt", kit.run())
    # org_restored compared every artifact list: the seeded shared ones are still there after destroy.
    after = org_snapshot(org)
    for key in ("connected_apps", "auth_providers", "named_credentials", "sites"):
        assert after[key] == seeded[key] and after[key]


def test_lifecycle_shared_eci_skip(org: EmulatorHandle, tmp_path: Path) -> None:
    seed_shared_eci(org)
    _report("lifecycle skip", lifecycle(org, tmp_path, sharedEci="skip").run())


def test_lifecycle_external_client_app_where_connected_apps_are_blocked(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    org.settings(connected_app_creation_allowed=False)
    try:
        kit = lifecycle(org, tmp_path, oauthAppKind="externalClientApp")
        _report("lifecycle externalClientApp", kit.run())
    finally:
        org.settings(connected_app_creation_allowed=True)


def test_connected_app_path_in_a_blocked_org_names_the_option_and_switching_converges(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    org.settings(connected_app_creation_allowed=False)
    try:
        failed = engine("up", org, tmp_path, check=False)
        assert failed.returncode != 0
        assert "eci-aircall:oauthAppKind" in failed.stdout + failed.stderr
        # The way forward the message gives: switch to an external client app; what the failed run created
        # is kept in state and the next up completes the setup.
        engine("up", org, tmp_path, overrides={"oauthAppKind": "externalClientApp"})
        engine(
            "preview", org, tmp_path, overrides={"oauthAppKind": "externalClientApp"}, expect_no_changes=True
        )
    finally:
        org.settings(connected_app_creation_allowed=True)
    snap = org_snapshot(org)
    assert snap["connected_apps"] == [] and snap["external_client_apps"] == ["ECI_Connected_App"]


def test_switching_to_skip_deletes_exactly_the_shared_artifacts(org: EmulatorHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    engine("up", org, state)
    started = time.monotonic()
    result = engine("up", org, state, overrides={"sharedEci": "skip"})
    ops = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in result.data["steps"] if s["op"] != "same"}
    assert ops == {**dict.fromkeys(SHARED_NAMES, "delete"), "eci-aircall-preflight": "update"}, (
        f"{time.monotonic() - started:.1f}s"
    )
    snap = org_snapshot(org)
    assert snap["connected_apps"] == [] and snap["sites"] == [] and snap["auth_providers"] == []


def test_adopted_artifacts_show_drift_on_refresh_and_survive_destroy(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    seed_shared_eci(org)
    state = tmp_path / "state"
    up = engine("up", org, state, overrides={"sharedEci": "adopt"})
    assert up.returncode == 0
    md = org.mdapi()
    site: Any = md.CustomSite.read(["VoiceConnector"])
    site.clickjackProtectionLevel = "AllowAllFraming"  # an admin, in Setup
    md.CustomSite.update(site)

    refresh = engine("refresh", org, state, overrides={"sharedEci": "adopt"})
    drift = {s["urn"].rsplit("::", 1)[-1]: s["inputDiff"] for s in refresh.data["steps"] if s["op"] != "same"}
    assert drift == {"eci-aircall-site": ["clickjack_protection_level"]}
    engine("up", org, state, overrides={"sharedEci": "adopt"})
    restored: Any = md.CustomSite.read(["VoiceConnector"])
    assert restored.clickjackProtectionLevel == "SameOriginOnly"

    engine("destroy", org, state, overrides={"sharedEci": "adopt"})
    kept = org_snapshot(org)
    assert kept["sites"] == [("VoiceConnector",)] and kept["connected_apps"] == [("ECI Connected App",)]
    assert kept["auth_providers"] == [("ECI_Auth_Provider",)]
    assert [n for (n, _) in kept["named_credentials"]] == ["ECI_Named_Credential"]


def test_skip_in_an_org_without_the_shared_artifacts_fails_before_writing(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    org.reset_calls()
    result = engine("up", org, tmp_path, overrides={"sharedEci": "skip"}, check=False)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "eci-aircall:sharedEci is 'skip' but these shared ECI artifacts do not exist" in text
    assert "guide: Add ECI as an Authorized Provider" in text
    assert org.calls()["writes"] == 0
