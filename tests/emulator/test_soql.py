"""SOQL subset through simple-salesforce: filters, relationships, errors and queryMore paging."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from devtools.sf_emulator.client import EmulatorHandle


def _names(res: dict[str, Any]) -> list[str]:
    return sorted(r["Name"] for r in res["records"])


def _err(sf: Salesforce, soql: str) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query(soql)
    content = raised.value.content
    assert isinstance(content, list) and len(content) == 1
    return dict(content[0])


def test_in_and_or_with_parentheses(org: EmulatorHandle) -> None:
    sf = org.sf()
    res = sf.query(
        "SELECT Name FROM PermissionSet WHERE (Name IN ('Voice_Connector_Permission', 'Nope') "
        "OR Label = 'einstein conversation insights') AND IsOwnedByProfile = false"
    )
    assert _names(res) == ["Einstein_Conversation_Insights", "Voice_Connector_Permission"]


def test_not_equal_null_and_boolean_literals(org: EmulatorHandle) -> None:
    sf = org.sf()
    licensed = sf.query("SELECT Name FROM PermissionSet WHERE LicenseId != null")
    # The seeded user-license-bound set and the ECI sets that need a permission set license.
    assert _names(licensed) == [
        "CallCoachingStandard",
        "CallCoachingUser",
        "SalesEngagementCallCoaching",
        "Salesforce_License_Only",
    ]
    unlicensed = sf.query("SELECT Name FROM PermissionSet WHERE LicenseId = null AND IsCustom = FALSE")
    assert "Voice_Connector_Permission" in _names(unlicensed)
    assert sf.query("SELECT Id FROM User WHERE IsActive = true")["totalSize"] == 1


def test_relationship_field_in_where_and_limit(org: EmulatorHandle) -> None:
    sf = org.sf()
    res = sf.query("SELECT Name, UserLicense.Name FROM Profile WHERE UserLicense.Name = 'Guest User License'")
    assert res["totalSize"] >= 1
    assert all(r["UserLicense"]["Name"] == "Guest User License" for r in res["records"])
    assert sf.query("SELECT Id FROM Profile LIMIT 1")["totalSize"] == 1


def test_assignment_query_by_assignee_username_and_permission_set_name(org: EmulatorHandle) -> None:
    sf = org.sf()
    ps = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Voice_Connector_Permission'")["records"][0]
    admin = sf.query(f"SELECT Id FROM User WHERE Username = '{org.username}'")["records"][0]
    sf.PermissionSetAssignment.create({"PermissionSetId": ps["Id"], "AssigneeId": admin["Id"]})
    res = sf.query(
        "SELECT Id, PermissionSet.Name, Assignee.Username FROM PermissionSetAssignment "
        f"WHERE Assignee.Username = '{org.username}' AND PermissionSet.Name = 'Voice_Connector_Permission'"
    )
    assert res["totalSize"] == 1
    rec = res["records"][0]
    assert rec["Assignee"]["Username"] == org.username
    assert rec["PermissionSet"]["Name"] == "Voice_Connector_Permission"


def test_two_level_relationship_paths_nest_twice(org: EmulatorHandle) -> None:
    rec = org.sf().query(
        f"SELECT Profile.Name, Profile.UserLicense.Name FROM User WHERE Username = '{org.username}'"
    )["records"][0]
    assert rec["Profile"]["Name"] == "System Administrator"
    assert rec["Profile"]["UserLicense"]["Name"] == "Salesforce"
    assert rec["Profile"]["UserLicense"]["attributes"]["type"] == "UserLicense"


def test_null_reference_renders_as_null_relationship(org: EmulatorHandle) -> None:
    rec = org.sf().query(
        "SELECT Name, License.Name FROM PermissionSet WHERE Name = 'Voice_Connector_Permission'"
    )
    assert rec["records"][0]["License"] is None


def test_count_query_reports_total_size_without_records(org: EmulatorHandle) -> None:
    res = org.sf().query("SELECT COUNT() FROM PermissionSet")
    assert res["totalSize"] == 8 and res["records"] == []


def test_order_by_and_like(org: EmulatorHandle) -> None:
    res = org.sf().query("SELECT Name FROM Profile WHERE Name LIKE '%User' ORDER BY Name DESC")
    names = [r["Name"] for r in res["records"]]
    assert names == sorted(names, reverse=True) and "Standard User" in names


def test_unknown_column_is_invalid_field_with_salesforce_message(org: EmulatorHandle) -> None:
    err = _err(org.sf(), "SELECT Id, Nope FROM User")
    assert err["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope' on entity 'User'" in err["message"]
    assert "ERROR at Row:1:Column:12" in err["message"]


def test_unknown_relationship_is_invalid_field(org: EmulatorHandle) -> None:
    err = _err(org.sf(), "SELECT Boss.Name FROM User")
    assert err["errorCode"] == "INVALID_FIELD"
    assert "Didn't understand relationship 'Boss'" in err["message"]


def test_syntax_error_is_malformed_query(org: EmulatorHandle) -> None:
    sf = org.sf()
    assert _err(sf, "SELECT Id FROM User WHERE")["errorCode"] == "MALFORMED_QUERY"
    assert _err(sf, "SELECT Id User")["errorCode"] == "MALFORMED_QUERY"
    # SOQL refuses AND and OR mixed without parentheses.
    assert _err(sf, "SELECT Id FROM User WHERE IsActive = true AND Id = null OR Id = null")["errorCode"] == (
        "MALFORMED_QUERY"
    )


def test_unknown_object_is_invalid_type(org: EmulatorHandle) -> None:
    err = _err(org.sf(), "SELECT Id FROM Nothing__c")
    assert err["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Nothing__c' is not supported" in err["message"]


def test_query_more_pages_through_next_records_url(org: EmulatorHandle) -> None:
    org.settings(query_batch_size=4)
    sf = org.sf()
    first = sf.query("SELECT Name FROM PermissionSet ORDER BY Name")
    assert first["totalSize"] == 8 and first["done"] is False and len(first["records"]) == 4
    assert first["nextRecordsUrl"].startswith("/services/data/v63.0/query/")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["done"] is True and "nextRecordsUrl" not in second
    everything = sf.query_all("SELECT Name FROM PermissionSet")
    assert everything["totalSize"] == 8 and len(everything["records"]) == 8
    calls = org.calls()["by_operation"]
    assert calls["rest.queryMore"] == 2


def test_string_literals_with_escaped_quotes(org: EmulatorHandle) -> None:
    res = org.sf().query("SELECT Id FROM User WHERE LastName = 'O\\'Brien'")
    assert res["totalSize"] == 0


def test_date_time_literals_and_relative_date_ranges(org: EmulatorHandle) -> None:
    sf = org.sf()

    def count(where: str) -> int:
        return int(sf.query(f"SELECT COUNT() FROM User WHERE {where}")["totalSize"])

    # The seeded admin was created at the reset that began this test.
    assert count("CreatedDate > 2000-01-01T00:00:00Z") == 1
    assert count("CreatedDate < 2000-01-01T00:00:00.000+0000") == 0
    assert count("CreatedDate >= 2000-01-01T01:00:00+01:00") == 1
    assert count("CreatedDate = LAST_N_DAYS:1") == 1
    assert count("CreatedDate > LAST_N_DAYS:1") == 0
    assert count("CreatedDate < LAST_N_DAYS:30") == 0
    assert count("CreatedDate != LAST_N_DAYS:30") == 0
    assert count("CreatedDate = TODAY OR CreatedDate = YESTERDAY") == 1
    unknown = _err(sf, "SELECT Id FROM User WHERE CreatedDate = NEXT_FORTNIGHT")
    assert unknown["errorCode"] == "MALFORMED_QUERY"
