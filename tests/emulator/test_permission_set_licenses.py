"""Reps' ECI access: the permission sets by label, the permission set license some of them need, its seats,
and sObject Collections for batches of reps (create, update, and read by Id)."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceError

from devtools.sf_emulator.client import EmulatorHandle

ECI_LABELS = (
    "Conversation Insights for Sales",
    "Sales Engagement Conversation Insights",
    "Einstein Conversation Insights Included",
    "Einstein Conversation Insights Standard",
)


def _error(raised: SalesforceError) -> dict[str, Any]:
    content: Any = raised.content
    assert isinstance(content, list) and len(content) == 1
    return dict(content[0])


def _rep(sf: Any, n: int) -> str:
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]
    created = sf.User.create(
        {
            "Username": f"rep{n}@acme.example",
            "LastName": f"Rep {n}",
            "Email": f"rep{n}@acme.example",
            "Alias": f"rep{n}",
            "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": profile,
        }
    )
    return str(created["id"])


def _eci_sets(sf: Any) -> dict[str, dict[str, Any]]:
    labels = ", ".join(f"'{label}'" for label in ECI_LABELS)
    rows = sf.query(f"SELECT Id, Name, Label, LicenseId FROM PermissionSet WHERE Label IN ({labels})")
    return {r["Label"]: r for r in rows["records"]}


def _license(sf: Any, developer_name: str = "ConversationInsightsPsl") -> dict[str, Any]:
    soql = (
        "SELECT Id, MasterLabel, DeveloperName, TotalLicenses, UsedLicenses FROM PermissionSetLicense "
        f"WHERE DeveloperName = '{developer_name}'"
    )
    return dict(sf.query(soql)["records"][0])


def _grant(sf: Any, rep: str, psl: str) -> str:
    """A permission set license assignment; its Id."""
    return str(sf.PermissionSetLicenseAssign.create({"AssigneeId": rep, "PermissionSetLicenseId": psl})["id"])


def test_the_eci_permission_sets_resolve_by_label_some_needing_a_license(org: EmulatorHandle) -> None:
    sf = org.sf()
    sets = _eci_sets(sf)
    assert set(sets) == set(ECI_LABELS)
    eci = _license(sf)
    assert (eci["MasterLabel"], eci["TotalLicenses"], eci["UsedLicenses"]) == (
        "Einstein Conversation Insights",
        100,
        0,
    )
    assert eci["Id"].startswith("0PL")
    assert sets["Conversation Insights for Sales"]["LicenseId"] == eci["Id"]
    assert sets["Einstein Conversation Insights Standard"]["LicenseId"] == eci["Id"]
    assert sets["Einstein Conversation Insights Included"]["LicenseId"] is None
    sales_engagement = _license(sf, "SalesEngagementPsl")["Id"]
    assert sets["Sales Engagement Conversation Insights"]["LicenseId"] == sales_engagement


def test_a_licensed_set_needs_the_license_first(org: EmulatorHandle) -> None:
    sf = org.sf()
    rep = _rep(sf, 1)
    eci_set = _eci_sets(sf)["Conversation Insights for Sales"]
    with pytest.raises(SalesforceError) as raised:
        sf.PermissionSetAssignment.create({"AssigneeId": rep, "PermissionSetId": eci_set["Id"]})
    error = _error(raised.value)
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert "Before continuing, assign the user to the related permission set license." in error["message"]
    assert _grant(sf, rep, eci_set["LicenseId"]).startswith("2LA")
    assert _license(sf)["UsedLicenses"] == 1
    sf.PermissionSetAssignment.create({"AssigneeId": rep, "PermissionSetId": eci_set["Id"]})


def test_a_set_without_a_license_needs_none(org: EmulatorHandle) -> None:
    sf = org.sf()
    rep = _rep(sf, 1)
    included = _eci_sets(sf)["Einstein Conversation Insights Included"]
    sf.PermissionSetAssignment.create({"AssigneeId": rep, "PermissionSetId": included["Id"]})


def test_seats_run_out_with_license_limit_exceeded(org: EmulatorHandle) -> None:
    org.settings(eci_license_seats=2)
    sf = org.sf()
    psl = _license(sf)["Id"]
    assert _license(sf)["TotalLicenses"] == 2
    reps = [_rep(sf, n) for n in range(3)]
    for rep in reps[:2]:
        _grant(sf, rep, psl)
    with pytest.raises(SalesforceError) as raised:
        _grant(sf, reps[2], psl)
    assert _error(raised.value)["errorCode"] == "LICENSE_LIMIT_EXCEEDED"
    assert _error(raised.value)["message"] == "License limit exceeded"
    # Freeing a seat makes room again.
    first = sf.query(f"SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '{reps[0]}'")
    sf.PermissionSetLicenseAssign.delete(first["records"][0]["Id"])
    assert _license(sf)["UsedLicenses"] == 1
    _grant(sf, reps[2], psl)
    assert _license(sf)["UsedLicenses"] == 2


def test_a_second_license_assignment_of_a_user_is_a_duplicate(org: EmulatorHandle) -> None:
    sf = org.sf()
    rep, psl = _rep(sf, 1), _license(sf)["Id"]
    first = _grant(sf, rep, psl)
    with pytest.raises(SalesforceError) as raised:
        _grant(sf, rep, psl)
    assert _error(raised.value)["errorCode"] == "DUPLICATE_VALUE"
    assert first in _error(raised.value)["message"]


def test_a_license_with_no_seats_refuses_the_first_assignment(org: EmulatorHandle) -> None:
    sf = org.sf()
    with pytest.raises(SalesforceError) as raised:
        _grant(sf, _rep(sf, 1), _license(sf, "SalesEngagementPsl")["Id"])
    assert _error(raised.value)["errorCode"] == "LICENSE_LIMIT_EXCEEDED"


def test_licenses_are_read_only_and_assignments_are_never_updated(org: EmulatorHandle) -> None:
    sf = org.sf()
    psl = _license(sf)["Id"]
    with pytest.raises(SalesforceError) as raised:
        sf.PermissionSetLicense.update(psl, {"TotalLicenses": 1000})
    assert _error(raised.value)["errorCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    assignment = _grant(sf, _rep(sf, 1), psl)
    with pytest.raises(SalesforceError) as raised:
        sf.PermissionSetLicenseAssign.update(assignment, {"AssigneeId": _rep(sf, 2)})
    assert _error(raised.value)["errorCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"


# ---- sObject Collections for batches of reps ---------------------------------------------------------------


def _collections(org: EmulatorHandle, method: str, path: str = "", **kw: Any) -> Any:
    url = f"{org.instance_url}/services/data/v63.0/composite/sobjects{path}"
    headers = {"Authorization": f"Bearer {org.access_token}"}
    return org.session().request(method, url, headers=headers, **kw)


def test_one_batch_grants_licenses_and_sets_all_or_none(org: EmulatorHandle) -> None:
    org.settings(eci_license_seats=2)
    sf = org.sf()
    psl, eci_set = _license(sf)["Id"], _eci_sets(sf)["Conversation Insights for Sales"]["Id"]
    reps = [_rep(sf, n) for n in range(3)]
    kind = {"type": "PermissionSetLicenseAssign"}
    licenses = [{"attributes": kind, "AssigneeId": rep, "PermissionSetLicenseId": psl} for rep in reps]
    over = _collections(org, "POST", json={"allOrNone": True, "records": licenses}).json()
    assert [r["success"] for r in over] == [False, False, False]
    assert over[2]["errors"][0]["statusCode"] == "LICENSE_LIMIT_EXCEEDED"
    assert over[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert _license(sf)["UsedLicenses"] == 0
    granted = _collections(org, "POST", json={"allOrNone": True, "records": licenses[:2]}).json()
    assert [r["success"] for r in granted] == [True, True]
    assert _license(sf)["UsedLicenses"] == 2
    sets = [
        {"attributes": {"type": "PermissionSetAssignment"}, "AssigneeId": rep, "PermissionSetId": eci_set}
        for rep in reps[:2]
    ]
    assert [r["success"] for r in _collections(org, "POST", json={"records": sets}).json()] == [True, True]
    calls = org.calls()["by_operation"]
    assert calls["rest.composite.sobjects.create"] == 3


def test_collections_take_at_most_200_records(org: EmulatorHandle) -> None:
    records = [{"attributes": {"type": "User"}, "Id": "005000000000001AAA"}] * 201
    answer = _collections(org, "PATCH", json={"records": records})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_get_by_ids_answers_each_record_or_null_in_order(org: EmulatorHandle) -> None:
    sf = org.sf()
    reps = [_rep(sf, n) for n in range(2)]
    missing = "005000000000001AAA"
    ids = ",".join([reps[1], missing, reps[0]])
    answer = _collections(org, "GET", "/User", params={"ids": ids, "fields": "Id,Email,IsActive"})
    assert answer.status_code == 200
    records = answer.json()
    assert records[1] is None
    assert [r["Id"] for r in (records[0], records[2])] == [reps[1], reps[0]]
    assert records[0] == {
        "attributes": {"type": "User", "url": f"/services/data/v63.0/sobjects/User/{reps[1]}"},
        "Id": reps[1],
        "Email": "rep1@acme.example",
        "IsActive": True,
    }
    assert org.calls()["by_operation"]["rest.composite.sobjects.read"] == 1


def test_post_by_ids_reads_the_same_and_custom_fields_too(org: EmulatorHandle) -> None:
    sf = org.sf()
    rep = _rep(sf, 1)
    sf.User.update(rep, {"vconn__Aircall_User_Identifier__c": "100001"})
    body = {"ids": [rep], "fields": ["vconn__Aircall_User_Identifier__c"]}
    records = _collections(org, "POST", "/User", json=body).json()
    assert records[0]["vconn__Aircall_User_Identifier__c"] == "100001"


def test_an_unknown_field_is_a_400(org: EmulatorHandle) -> None:
    answer = _collections(org, "GET", "/User", params={"ids": "005000000000001AAA", "fields": "Id,Nope"})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_FIELD"
    assert _collections(org, "GET", "/User", params={"fields": "Id"}).status_code == 400
    too_many = {"ids": ["005000000000001AAA"] * 2001, "fields": ["Id"]}
    assert _collections(org, "POST", "/User", json=too_many).json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
