"""Every provider of this module group through the real pulumi CLI in one stack (one set of CLI runs keeps the
suite fast): create → no-op `up` with 0 calls → an admin changes each artifact in Setup → `refresh` reports
exactly the changed properties → `preview` shows the updates → `up` restores → `preview --expect-no-changes`
→ `destroy` (user deactivated, site deleted, assignments removed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.resource_program import Stack, changed_ops

USER = {
    "username": "eci.engine@example.com",
    "email": "eci.engine@example.com",
    "first_name": "ECI",
    "last_name": "Engine",
    "alias": "eciengn",
}


def resources(org: Any) -> list[dict[str, Any]]:
    after_preflight = {"depends_on": ["preflight"]}
    return [
        {
            "name": "preflight",
            "type": "preflight.Preflight",
            "inputs": {
                "aircall_api_url": org.aircall_url,
                "aircall_api_id": org.aircall_api_id,
                "aircall_api_token": "$secret:aircallToken",
            },
        },
        {"name": "user", "type": "integration_user.IntegrationUser", "inputs": USER, "opts": after_preflight},
        {
            "name": "user-eci",
            "type": "permission_set_assignment.PermissionSetAssignment",
            "inputs": {
                "permission_set": "Einstein_Conversation_Insights",
                "assignee_id": "$ref:user.user_id",
            },
        },
        {
            "name": "user-ci",
            "type": "permission_set_assignment.PermissionSetAssignment",
            # by label, as an admin would type it
            "inputs": {
                "permission_set": "Conversation Insights Integration User",
                "assignee_id": "$ref:user.user_id",
            },
        },
        {
            "name": "site",
            "type": "custom_site.CustomSite",
            "inputs": {
                "site_admin": "$ref:user.username",
                "guest_record_default_owner": "$ref:user.username",
                "contact_email": "admin@example.com",
            },
        },
        {
            "name": "guest",
            "type": "custom_site.SiteGuestUser",
            "inputs": {"user_id": "$ref:site.guest_user_id"},
        },
        {
            "name": "guest-vc",
            "type": "permission_set_assignment.PermissionSetAssignment",
            "inputs": {"permission_set": "Voice_Connector_Permission", "assignee_id": "$ref:guest.user_id"},
        },
    ]


def test_every_provider_through_the_engine(org: Any, tmp_path: Path) -> None:
    stack = Stack(org, tmp_path)
    stack.secrets = {"aircallToken": org.aircall_api_token}
    stack.resources = resources(org)

    org.reset_calls()
    created = stack.up()
    calls = org.calls()
    assert set(changed_ops(created).values()) == {"create"} and len(changed_ops(created)) == 7
    # preflight 7 (5 reads, and 2 listMetadata finding none of the components a new stack creates) + its
    # check-only deploy and status check 2, user 3, 3 assignments × 2, site 3 + its listMetadata (the
    # identity readMetadata does not give), guest user 1
    assert calls["total"] == 7 + 2 + 3 + 3 * 2 + 4 + 1
    assert calls["writes"] == 1 + 3 + 1  # user insert, 3 assignment inserts, createMetadata
    sf = org.sf()
    user = sf.query(f"SELECT Id FROM User WHERE Username = '{USER['username']}'")["records"][0]["Id"]
    site = stack.outputs("site")
    eci = stack.outputs("user-eci")

    org.reset_calls()
    stack.up(expect_no_changes=True)
    assert org.calls()["total"] == 0 and "aircall.ping" not in org.calls()["by_operation"]

    # An admin edits every artifact in Setup.
    sf.User.update(user, {"Alias": "changed", "IsActive": False})
    sf.PermissionSetAssignment.delete(eci["assignment_id"])
    mdapi = org.mdapi()
    live_site = mdapi.CustomSite.read("VoiceConnector")
    live_site.clickjackProtectionLevel = "NoFraming"
    live_site.indexPage = "InMaintenance"
    mdapi.CustomSite.update([live_site])
    sf.User.update(site["guest_user_id"], {"IsActive": False})

    org.reset_calls()
    refreshed = stack.refresh()
    # one read for each of the 6 Salesforce resources, but one query for both of the user's assignments
    # (kept by the client for the second), + the site's listMetadata (still the one this stack made?); the
    # preflight reads nothing
    assert org.calls()["total"] == 6
    steps = refreshed.steps_by_name()
    assert sorted(steps["user"]["inputDiff"]) == ["alias", "is_active"]
    assert steps["user-eci"]["op"] == "delete"  # gone from the org: refresh drops it
    assert sorted(steps["site"]["inputDiff"]) == ["clickjack_protection_level", "home_page"]
    assert steps["guest"]["inputDiff"] == ["is_active"]
    assert {n for n, s in steps.items() if s["op"] not in ("same", "read")} == {
        "user",
        "user-eci",
        "site",
        "guest",
    }

    planned = changed_ops(stack.preview())
    assert planned == {"user": "update", "user-eci": "create", "site": "update", "guest": "update"}
    stack.up()
    restored = sf.query(f"SELECT Alias, IsActive FROM User WHERE Id = '{user}'")["records"][0]
    assert (restored["Alias"], restored["IsActive"]) == ("eciengn", True)
    live_site = mdapi.CustomSite.read("VoiceConnector")
    assert (live_site.clickjackProtectionLevel, live_site.indexPage) == ("SameOriginOnly", "SiteLogin")
    stack.preview(expect_no_changes=True)

    org.reset_calls()
    stack.destroy()
    # 3 assignment deletes, the site's listMetadata (still ours?) + deleteMetadata, the user's deactivation;
    # preflight and guest: nothing
    assert org.calls()["total"] == 6
    assert org.calls()["writes_by_operation"] == {
        "rest.sobject.delete": 3,
        "metadata.deleteMetadata": 1,
        "rest.sobject.update": 1,
    }
    assert sf.query(f"SELECT IsActive FROM User WHERE Id = '{user}'")["records"][0]["IsActive"] is False
    assert (
        sf.query(f"SELECT COUNT() FROM PermissionSetAssignment WHERE AssigneeId = '{user}'")["totalSize"] == 0
    )
    assert mdapi.CustomSite.read("VoiceConnector").fullName is None
    exported = str(stack.export())
    for secret in (org.aircall_api_token, org.access_token):
        assert secret not in exported
        assert secret not in created.stdout + created.stderr + refreshed.stdout + refreshed.stderr
