"""Data rules that hold whichever API writes: permission set assignments and licenses."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.seeds import site_by_hand


def _ps(sf: Salesforce, name: str) -> str:
    return str(sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")["records"][0]["Id"])


def _admin(sf: Salesforce, org: EmulatorHandle) -> str:
    return str(sf.query(f"SELECT Id FROM User WHERE Username = '{org.username}'")["records"][0]["Id"])


def _guest_user(org: EmulatorHandle) -> str:
    """A site's guest user, created the way Salesforce creates one: by creating the site."""
    site_by_hand(org, siteAdmin=org.username, siteGuestRecordDefaultOwner=org.username)
    site = org.sf().query("SELECT GuestUserId FROM Site WHERE Name = 'VoiceConnector'")["records"][0]
    return str(site["GuestUserId"])


def _content(exc: SalesforceMalformedRequest) -> dict[str, Any]:
    assert isinstance(exc.content, list)
    return dict(exc.content[0])


def test_duplicate_assignment_is_duplicate_value(org: EmulatorHandle) -> None:
    sf = org.sf()
    body = {"PermissionSetId": _ps(sf, "Voice_Connector_Permission"), "AssigneeId": _admin(sf, org)}
    created = sf.PermissionSetAssignment.create(body)
    assert created["id"].startswith("0Pa")
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.PermissionSetAssignment.create(body)
    err = _content(raised.value)
    assert err["errorCode"] == "DUPLICATE_VALUE"
    assert err["message"] == (
        f"Duplicate PermissionSetAssignment. Assignee: {body['AssigneeId']}; "
        f"Permission Set: {body['PermissionSetId']}"
    )


def test_assignment_can_be_deleted_and_made_again(org: EmulatorHandle) -> None:
    sf = org.sf()
    body = {"PermissionSetId": _ps(sf, "Einstein_Conversation_Insights"), "AssigneeId": _admin(sf, org)}
    first = sf.PermissionSetAssignment.create(body)["id"]
    assert sf.PermissionSetAssignment.delete(first) == 204
    assert sf.PermissionSetAssignment.create(body)["success"] is True


def test_unlicensed_package_sets_go_on_a_guest_user(org: EmulatorHandle) -> None:
    sf = org.sf()
    guest = _guest_user(org)
    assert sf.User.get(guest)["UserType"] == "Guest"
    for name in (
        "Voice_Connector_Permission",
        "Conversation_Insights_Integration_User",
        "Einstein_Conversation_Insights",
    ):
        assert sf.PermissionSetAssignment.create({"PermissionSetId": _ps(sf, name), "AssigneeId": guest})[
            "success"
        ]


def test_license_bound_set_on_a_guest_user_is_refused(org: EmulatorHandle) -> None:
    sf = org.sf()
    guest = _guest_user(org)
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.PermissionSetAssignment.create(
            {"PermissionSetId": _ps(sf, "Salesforce_License_Only"), "AssigneeId": guest}
        )
    assert _content(raised.value)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    # The same set is fine for a user who has the Salesforce license.
    assert sf.PermissionSetAssignment.create(
        {"PermissionSetId": _ps(sf, "Salesforce_License_Only"), "AssigneeId": _admin(sf, org)}
    )["success"]


def test_assignment_to_a_missing_user_is_invalid_cross_reference(org: EmulatorHandle) -> None:
    sf = org.sf()
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.PermissionSetAssignment.create(
            {"PermissionSetId": _ps(sf, "Voice_Connector_Permission"), "AssigneeId": "005000000000000AAA"}
        )
    err = _content(raised.value)
    assert err["errorCode"] == "INVALID_CROSS_REFERENCE_KEY" and err["fields"] == ["AssigneeId"]


def test_assignment_keys_cannot_be_changed(org: EmulatorHandle) -> None:
    sf = org.sf()
    aid = sf.PermissionSetAssignment.create(
        {"PermissionSetId": _ps(sf, "Voice_Connector_Permission"), "AssigneeId": _admin(sf, org)}
    )["id"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.PermissionSetAssignment.update(aid, {"AssigneeId": _admin(sf, org)})
    assert _content(raised.value)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
