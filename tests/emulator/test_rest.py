"""REST API behaviour through simple-salesforce (sObject CRUD, query shapes, errors)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from devtools.sf_emulator.client import EmulatorHandle


def _user(profile_id: str, username: str = "int.user@eci-test.example", **extra: Any) -> dict[str, Any]:
    return {
        "Username": username,
        "LastName": "Integration",
        "FirstName": "ECI",
        "Email": "int.user@eci-test.example",
        "Alias": "eciint",
        "TimeZoneSidKey": "America/Los_Angeles",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US",
        "ProfileId": profile_id,
        **extra,
    }


def _profile(sf: Salesforce, name: str) -> str:
    return str(sf.query(f"SELECT Id FROM Profile WHERE Name = '{name}'")["records"][0]["Id"])


def _error(exc: Exception) -> dict[str, Any]:
    content = exc.content  # type: ignore[attr-defined]
    assert isinstance(content, list) and len(content) == 1
    return dict(content[0])


def test_versions_list_is_served_without_a_session(org: EmulatorHandle) -> None:
    r = org.session().get(f"{org.instance_url}/services/data/")
    assert r.status_code == 200
    assert {"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"} in r.json()


def test_seeded_org_is_enterprise_with_my_domain_equal_to_instance_url(org: EmulatorHandle) -> None:
    sf = org.sf()
    orgrow = sf.query("SELECT Id, OrganizationType, IsSandbox FROM Organization")["records"][0]
    # A sandbox unless the `sandbox` setting says production (Organization.IsSandbox follows it).
    assert orgrow["OrganizationType"] == "Enterprise Edition" and orgrow["IsSandbox"] is True
    org.settings(sandbox=False)
    assert sf.query("SELECT IsSandbox FROM Organization")["records"][0]["IsSandbox"] is False
    domain = sf.query("SELECT Domain FROM Domain")["records"][0]["Domain"]
    assert f"https://{domain}" == org.instance_url


def test_seeded_permission_sets_and_profiles_are_there(org: EmulatorHandle) -> None:
    sf = org.sf()
    sets = sf.query(
        "SELECT Name, Label, LicenseId FROM PermissionSet WHERE Name IN "
        "('Voice_Connector_Permission', 'Conversation_Insights_Integration_User', "
        "'Einstein_Conversation_Insights')"
    )["records"]
    assert {(s["Name"], s["Label"], s["LicenseId"]) for s in sets} == {
        ("Voice_Connector_Permission", "Voice Connector Permission", None),
        ("Conversation_Insights_Integration_User", "Conversation Insights Integration User", None),
        ("Einstein_Conversation_Insights", "Einstein Conversation Insights", None),
    }
    profiles = {r["Name"] for r in sf.query("SELECT Name FROM Profile")["records"]}
    assert {"System Administrator", "Standard User"} <= profiles
    guest = sf.query("SELECT Name FROM Profile WHERE UserType = 'Guest'")["records"]
    assert guest, "a guest profile is seeded"


def test_query_nests_relationship_fields_like_salesforce(org: EmulatorHandle) -> None:
    res = org.sf().query(f"SELECT Id, Username, Profile.Name FROM User WHERE Username = '{org.username}'")
    assert res["totalSize"] == 1 and res["done"] is True and "nextRecordsUrl" not in res
    rec = res["records"][0]
    assert rec["attributes"] == {"type": "User", "url": f"/services/data/v63.0/sobjects/User/{rec['Id']}"}
    assert rec["Profile"]["Name"] == "System Administrator"
    assert rec["Profile"]["attributes"]["type"] == "Profile"
    assert list(rec) == ["attributes", "Id", "Username", "Profile"]


def test_create_read_update_user_and_the_name_is_derived(org: EmulatorHandle) -> None:
    sf = org.sf()
    created = sf.User.create(_user(_profile(sf, "Standard User")))
    assert created["success"] is True and created["id"].startswith("005") and len(created["id"]) == 18
    assert sf.User.get(created["id"])["Name"] == "ECI Integration"
    assert sf.User.update(created["id"], {"LastName": "Renamed"}) == 204
    assert sf.User.get(created["id"])["Name"] == "ECI Renamed"
    # A 15-character Id names the same record.
    assert sf.User.get(created["id"][:15])["Id"] == created["id"]


def test_missing_record_is_404_not_found(org: EmulatorHandle) -> None:
    with pytest.raises(SalesforceResourceNotFound) as raised:
        org.sf().User.get("005000000000000AAA")
    assert _error(raised.value)["errorCode"] == "NOT_FOUND"


def test_required_field_missing_names_the_fields(org: EmulatorHandle) -> None:
    sf = org.sf()
    body = _user(_profile(sf, "Standard User"))
    del body["Email"], body["Alias"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.create(body)
    err = _error(raised.value)
    assert err["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert err["fields"] == ["Email", "Alias"]
    assert err["message"] == "Required fields are missing: [Email, Alias]"


def test_users_are_never_deleted_only_deactivated(org: EmulatorHandle) -> None:
    sf = org.sf()
    uid = sf.User.create(_user(_profile(sf, "Standard User")))["id"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.delete(uid)
    assert _error(raised.value)["errorCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    sf.User.update(uid, {"IsActive": False})
    assert sf.User.get(uid)["IsActive"] is False


def test_usernames_are_unique_whatever_the_case(org: EmulatorHandle) -> None:
    sf = org.sf()
    profile = _profile(sf, "Standard User")
    sf.User.create(_user(profile))
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.create(_user(profile, username="INT.USER@eci-test.example"))
    err = _error(raised.value)
    assert err["errorCode"] == "DUPLICATE_USERNAME" and err["fields"] == ["Username"]


def test_a_username_taken_in_another_org_is_a_duplicate_here(org: EmulatorHandle) -> None:
    org.control("POST", "foreign-usernames", {"usernames": ["Taken@Elsewhere.example"]})
    sf = org.sf()
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.create(_user(_profile(sf, "Standard User"), username="taken@elsewhere.example"))
    assert _error(raised.value)["errorCode"] == "DUPLICATE_USERNAME"


def test_a_deactivated_users_username_stays_taken(org: EmulatorHandle) -> None:
    sf = org.sf()
    profile = _profile(sf, "Standard User")
    uid = sf.User.create(_user(profile))["id"]
    sf.User.update(uid, {"IsActive": False})
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.create(_user(profile))
    assert _error(raised.value)["errorCode"] == "DUPLICATE_USERNAME"


def test_upsert_by_username_creates_then_updates(org: EmulatorHandle) -> None:
    sf = org.sf()
    body = _user(_profile(sf, "Standard User"))
    username = body.pop("Username")
    assert sf.User.upsert(f"Username/{username}", body) == 201
    body["LastName"] = "Upserted"
    assert sf.User.upsert(f"Username/{username}", body) == 200
    rows = sf.query(f"SELECT Id, LastName FROM User WHERE Username = '{username}'")["records"]
    assert [r["LastName"] for r in rows] == ["Upserted"]


def test_objects_only_setup_creates_refuse_rest_inserts(org: EmulatorHandle) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        org.sf().Site.create({"Name": "Sneaky"})
    assert _error(raised.value) == {
        "message": "entity type cannot be inserted: Site",
        "errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "fields": [],
    }


def test_upsert_on_a_field_that_is_not_an_id_lookup_is_refused(org: EmulatorHandle) -> None:
    with pytest.raises(SalesforceResourceNotFound) as raised:
        org.sf().User.upsert("LastName/Smith", {"FirstName": "X"})
    assert _error(raised.value)["errorCode"] == "NOT_FOUND"


def test_unknown_field_on_create_is_invalid_field(org: EmulatorHandle) -> None:
    sf = org.sf()
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.create(_user(_profile(sf, "Standard User"), Nope__c="x"))
    assert _error(raised.value)["errorCode"] == "INVALID_FIELD"


def test_describe_reports_fields_and_id_lookup(org: EmulatorHandle) -> None:
    d = org.sf().User.describe()
    fields = {f["name"]: f for f in d["fields"]}
    assert d["keyPrefix"] == "005" and d["createable"] is True
    assert fields["Username"]["idLookup"] is True and fields["LastName"]["idLookup"] is False
    assert fields["ProfileId"]["referenceTo"] == ["Profile"]
    assert fields["ProfileId"]["relationshipName"] == "Profile"
    names = {s["name"] for s in org.sf().describe()["sobjects"]}
    assert {"User", "PermissionSetAssignment", "Site", "NamedCredential", "ConnectedApplication"} <= names


def test_rest_error_without_session_is_401_invalid_session_id(org: EmulatorHandle) -> None:
    r = org.session().get(
        f"{org.instance_url}/services/data/v63.0/sobjects/User/describe",
        headers={"Authorization": "Bearer not-a-session"},
    )
    assert r.status_code == 401
    assert r.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_requests_without_trust_env_reach_the_emulator(org: EmulatorHandle) -> None:
    # Session.verify=ca.pem is honoured only when REQUESTS_CA_BUNDLE cannot override it (psf/requests#3829).
    s = requests.Session()
    s.verify = org.ca_cert
    s.trust_env = False
    assert s.get(f"{org.instance_url}/services/data/").status_code == 200


def test_query_with_columns_true_answers_the_column_tree_not_records(org: EmulatorHandle) -> None:
    # What `sf data query` asks before printing (plugin-data commands/data/query.js, retrieveColumns): a
    # relationship path is one column whose joinColumns hold the related field.
    sf = org.sf()
    soql = "SELECT Id, Profile.Name, Profile.Id FROM User"
    answer = sf.restful("query", params={"q": soql, "columns": "true"})
    assert "records" not in answer
    assert (answer["entityName"], answer["keyPrefix"], answer["idSelected"]) == ("User", "005", True)
    columns = answer["columnMetadata"]
    assert [c["columnName"] for c in columns] == ["Id", "Profile"]
    assert [(j["columnName"], j["displayName"]) for j in columns[1]["joinColumns"]] == [
        ("Name", "Profile.Name"),
        ("Id", "Profile.Id"),
    ]
    assert columns[0]["joinColumns"] == [] and columns[0]["aggregate"] is False
