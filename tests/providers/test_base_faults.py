"""A small fault matrix over this engineer's providers (issue 7 runs the full one through the engine): each
emulator fault on the write (or read) call of each step. Transient faults and an expired session must end in
success with exactly one artifact; the daily limit must fail saying so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from providers.custom_site import CustomSiteProvider
from providers.integration_user import IntegrationUserProvider
from providers.kit import ArtifactProvider
from providers.permission_set_assignment import PermissionSetAssignmentProvider
from salesforce import SalesforceError
from tests.support.driver import Driver, sfdx_configured

USER = {
    "username": "eci.faults@example.com",
    "email": "eci@example.com",
    "last_name": "Faults",
    "alias": "ecif",
}


def admin_id(org: Any) -> str:
    return str(org.sf().query(f"SELECT Id FROM User WHERE Username = '{org.username}'")["records"][0]["Id"])


def count_users(org: Any) -> int:
    return int(org.sf().query(f"SELECT COUNT() FROM User WHERE Username = '{USER['username']}'")["totalSize"])


def count_sites(org: Any) -> int:
    return int(org.sf().query("SELECT COUNT() FROM Site WHERE Name = 'VoiceConnector'")["totalSize"])


def count_assignments(org: Any) -> int:
    soql = (
        "SELECT COUNT() FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Voice_Connector_Permission' "
        f"AND AssigneeId = '{admin_id(org)}'"
    )
    return int(org.sf().query(soql)["totalSize"])


# artifact → (provider factory, inputs(org), changed inputs(org) or None, write operation per step, counter)
ARTIFACTS: dict[
    str, tuple[Callable[[], ArtifactProvider], Any, Any, dict[str, str], Callable[[Any], int]]
] = {
    "user": (
        IntegrationUserProvider,
        lambda org: USER,
        lambda org: {**USER, "alias": "ecif2"},
        {"create": "rest.sobject.create", "update": "rest.sobject.update", "delete": "rest.sobject.update"},
        count_users,
    ),
    "assignment": (
        PermissionSetAssignmentProvider,
        lambda org: {"permission_set": "Voice_Connector_Permission", "assignee_id": admin_id(org)},
        None,
        {"create": "rest.sobject.create", "delete": "rest.sobject.delete"},
        count_assignments,
    ),
    "site": (
        CustomSiteProvider,
        lambda org: {"site_admin": org.username, "guest_record_default_owner": org.username},
        lambda org: {"site_admin": org.username, "guest_record_default_owner": org.username, "label": "VC"},
        {
            "create": "metadata.createMetadata",
            "update": "metadata.updateMetadata",
            "delete": "metadata.deleteMetadata",
        },
        count_sites,
    ),
}
TRANSIENT = ["http_503", "unable_to_lock_row", "reset_before", "reply_lost", "invalid_session_id"]
STEPS = ["create", "update", "delete", "read"]


# A permission set assignment has no update step: both its inputs are replace keys.
CASES = [
    (artifact, step, fault)
    for artifact, spec in ARTIFACTS.items()
    for step in STEPS
    if not (step == "update" and spec[2] is None)
    for fault in TRANSIENT
]


@pytest.mark.parametrize(("artifact", "step", "fault"), CASES)
def test_transient_fault_is_absorbed(org: Any, artifact: str, step: str, fault: str) -> None:
    factory, inputs, changed, write_op, count = ARTIFACTS[artifact]
    driver = Driver(sfdx_configured(factory(), org))
    operation = "rest.query" if step == "read" else write_op[step]
    if step != "create":
        driver.create(**inputs(org))
    if step == "read" and artifact == "site":
        operation = "metadata.readMetadata"
    org.fault(kind=fault, operation=operation, count=1)
    if step == "create":
        outs = driver.create(**inputs(org))
        assert count(org) == 1
        # Whatever happened on the wire, the artifact was created by this create: it is not "adopted".
        assert outs["adopted"] is False
    elif step == "update":
        assert changed is not None
        driver.update(**changed(org))
        assert count(org) == 1
    elif step == "delete":
        driver.delete()
        if artifact == "user":
            assert not org.sf().User.get(driver.id)["IsActive"]
        else:
            assert count(org) == 0
    else:
        assert driver.read().id == driver.id
    org.clear_faults()


@pytest.mark.parametrize("artifact", list(ARTIFACTS))
def test_daily_limit_fails_saying_so_with_nothing_written(org: Any, artifact: str) -> None:
    factory, inputs, _, _, count = ARTIFACTS[artifact]
    driver = Driver(sfdx_configured(factory(), org))
    driver.provider.client.sf  # noqa: B018 - log in before the limit is hit
    wanted = inputs(org)
    org.fault(kind="request_limit_exceeded", operation="*", count=20)
    with pytest.raises(SalesforceError) as info:
        driver.create(**wanted)
    org.clear_faults()
    assert "daily API request limit" in str(info.value) and artifact != "" and count(org) == 0
