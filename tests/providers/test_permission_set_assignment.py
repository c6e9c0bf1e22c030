"""PermissionSetAssignment against the emulator: the cost of each step, adopt on DUPLICATE_VALUE, both
replace keys, removed by hand, bad input with 0 writes. Its engine lifecycle is in test_base_engine.py."""

from __future__ import annotations

from typing import Any

import pytest

from providers.kit import InputError
from providers.permission_set_assignment import PermissionSetAssignmentProvider
from tests.support.driver import Driver, configured

USER: dict[str, Any] = {
    "username": "eci.psa@example.com",
    "email": "eci.psa@example.com",
    "last_name": "Integration",
    "alias": "ecipsa",
}
ECI_ACCESS = "Einstein_Conversation_Insights"
CI_LABEL = "Conversation Insights Integration User"


def assignments(org: Any, user_id: str) -> list[str]:
    rows = org.sf().query(
        f"SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '{user_id}'"
    )["records"]
    return sorted(r["PermissionSet"]["Name"] for r in rows)


def new_user(org: Any, username: str = USER["username"]) -> str:
    profile = org.sf().query("SELECT Id FROM Profile WHERE Name = 'System Administrator'")["records"][0]
    return str(
        org.sf().User.create(
            {
                "Username": username,
                "Email": USER["email"],
                "LastName": "Integration",
                "Alias": "ecipsa",
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US",
                "ProfileId": profile["Id"],
            }
        )["id"]
    )


def test_calls_for_create_read_and_delete(org: Any) -> None:
    """Engine-level create / no-op / drift / destroy run in test_base_engine.py; here each step's cost."""
    user_id = new_user(org)
    driver = Driver(configured(PermissionSetAssignmentProvider(), org))
    org.reset_calls()
    outs = driver.create(permission_set=CI_LABEL, assignee_id=user_id)  # by label
    # permission set look-up + insert (no look-up first: DUPLICATE_VALUE would mean adopt)
    assert org.calls()["total"] == 2 and org.calls()["writes"] == 1
    assert outs["assignment_id"] and outs["permission_set_id"] and outs["adopted"] is False
    assert assignments(org, user_id) == ["Conversation_Insights_Integration_User"]
    org.reset_calls()
    assert driver.read().id == outs["assignment_id"]
    assert org.calls()["total"] == 1
    org.reset_calls()
    driver.delete()
    assert org.calls()["total"] == 1 and assignments(org, user_id) == []


def test_assignment_removed_by_hand_disappears_on_read(org: Any) -> None:
    user_id = new_user(org)
    driver = Driver(configured(PermissionSetAssignmentProvider(), org))
    outs = driver.create(permission_set=ECI_ACCESS, assignee_id=user_id)
    org.sf().PermissionSetAssignment.delete(outs["assignment_id"])
    assert driver.read().id == ""


def test_existing_assignment_is_adopted_on_duplicate_value_and_left_on_delete(org: Any) -> None:
    user_id = new_user(org)
    ps = org.sf().query(f"SELECT Id FROM PermissionSet WHERE Name = '{ECI_ACCESS}'")["records"][0]["Id"]
    existing = org.sf().PermissionSetAssignment.create({"PermissionSetId": ps, "AssigneeId": user_id})["id"]
    driver = Driver(configured(PermissionSetAssignmentProvider(), org))
    org.reset_calls()
    outs = driver.create(permission_set=ECI_ACCESS, assignee_id=user_id)
    assert outs["adopted"] is True and outs["assignment_id"] == existing and outs["permission_set_id"] == ps
    assert org.calls()["writes"] == 0
    driver.delete()
    assert assignments(org, user_id) == [ECI_ACCESS]


@pytest.mark.parametrize("field", ["permission_set", "assignee_id"])
def test_either_input_change_is_a_delete_before_replace(org: Any, field: str) -> None:
    user_id = new_user(org)
    driver = Driver(configured(PermissionSetAssignmentProvider(), org))
    driver.create(permission_set=ECI_ACCESS, assignee_id=user_id)
    other = (
        {"permission_set": CI_LABEL}
        if field == "permission_set"
        else {"assignee_id": new_user(org, "b@x.io")}
    )
    diff = driver.diff(**{"permission_set": ECI_ACCESS, "assignee_id": user_id, **other})
    assert diff.changes and diff.replaces == [field] and diff.delete_before_replace is True


def test_label_and_15_character_id_do_not_show_as_drift(org: Any) -> None:
    user_id = new_user(org)
    driver = Driver(configured(PermissionSetAssignmentProvider(), org))
    inputs = {"permission_set": CI_LABEL.lower(), "assignee_id": user_id[:15]}
    driver.create(**inputs)
    result = driver.read()
    assert result.inputs["permission_set"] == CI_LABEL.lower()
    assert result.inputs["assignee_id"] == user_id[:15]
    assert not driver.diff(**inputs).changes


def test_unknown_permission_set_fails_with_zero_writes(org: Any) -> None:
    user_id = new_user(org)
    driver = Driver(configured(PermissionSetAssignmentProvider(), org))
    org.reset_calls()
    with pytest.raises(InputError) as info:
        driver.create(permission_set="Voice_Conector_Permission", assignee_id=user_id)
    assert "Voice_Conector_Permission" in str(info.value) and "eci-aircall:permissionSets" in str(info.value)
    assert org.calls()["writes"] == 0


def test_malformed_assignee_id_is_a_check_failure(org: Any) -> None:
    provider = configured(PermissionSetAssignmentProvider(), org)
    result = provider.check({}, {"permission_set": ECI_ACCESS, "assignee_id": "not-an-id"})
    assert [f.property for f in result.failures] == ["assignee_id"]
