"""PermissionSetAssignment against the emulator: engine lifecycle with the integration user, adopt on
DUPLICATE_VALUE, both replace keys, drift (assignment removed by hand), bad input with 0 writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers.base import InputError
from providers.permission_set_assignment import PermissionSetAssignmentProvider
from tests.providers.conftest import Driver, configured
from tests.providers.program import Stack, changed_ops

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


def test_lifecycle_through_the_engine_with_the_integration_user(org: Any, tmp_path: Path) -> None:
    stack = Stack(org, tmp_path)
    stack.resources = [
        {"name": "user", "type": "integration_user.IntegrationUser", "inputs": USER},
        {
            "name": "eci-access",
            "type": "permission_set_assignment.PermissionSetAssignment",
            "inputs": {"permission_set": ECI_ACCESS, "assignee_id": "$ref:user.user_id"},
        },
        {
            "name": "ci-user",
            "type": "permission_set_assignment.PermissionSetAssignment",
            "inputs": {"permission_set": CI_LABEL, "assignee_id": "$ref:user.user_id"},  # by label
        },
    ]
    org.reset_calls()
    stack.up()
    calls = org.calls()  # before this test's own queries
    # user: 3 calls; each assignment: permission set look-up + insert.
    assert calls["total"] == 3 + 2 * 2 and calls["by_operation"]["rest.sobject.create"] == 3
    user_id = stack.outputs("user")["user_id"]
    assert assignments(org, user_id) == ["Conversation_Insights_Integration_User", ECI_ACCESS]
    outs = stack.outputs("eci-access")
    assert outs["assignment_id"] and outs["permission_set_id"] and outs["adopted"] is False

    org.reset_calls()
    stack.up(expect_no_changes=True)
    assert org.calls()["total"] == 0

    # An admin removes one assignment in Setup: refresh drops it, up puts it back.
    org.sf().PermissionSetAssignment.delete(outs["assignment_id"])
    org.reset_calls()
    refreshed = stack.refresh()
    assert org.calls()["total"] == 3  # one read per resource
    assert refreshed.steps_by_name()["eci-access"]["op"] == "delete"
    assert changed_ops(stack.preview())["eci-access"] == "create"
    stack.up()
    assert ECI_ACCESS in assignments(org, user_id)
    stack.preview(expect_no_changes=True)

    org.reset_calls()
    stack.destroy()
    # two assignment deletes + the user's deactivation, nothing else
    assert org.calls()["total"] == 3
    assert org.calls()["writes_by_operation"] == {"rest.sobject.delete": 2, "rest.sobject.update": 1}
    assert assignments(org, user_id) == []


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
