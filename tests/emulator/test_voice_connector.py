"""What the Voice Connector package brings to the org: the recording providers (CallCoachingMediaProvider,
inactive) and the User fields labelled "<vendor> User Identifier", in the namespace an org setting names; and
VoiceCall, the calls received through a provider."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceError, SalesforceMalformedRequest

from devtools.sf_emulator.client import EmulatorHandle


def _error(raised: SalesforceError) -> dict[str, Any]:
    """The one error of a refused REST call."""
    content: Any = raised.content
    assert isinstance(content, list) and len(content) == 1
    return dict(content[0])


def _providers(org: EmulatorHandle) -> dict[str, dict[str, Any]]:
    soql = "SELECT Id, ProviderName, ProviderDescription, IsActive FROM CallCoachingMediaProvider"
    rows = org.sf().query(soql)
    return {r["ProviderName"]: r for r in rows["records"]}


def test_the_installed_package_brings_its_providers_inactive(org: EmulatorHandle) -> None:
    providers = _providers(org)
    assert set(providers) == {"Aircall", "Dialpad", "RingCentral"}
    assert all(p["IsActive"] is False and p["Id"].startswith("0hn") for p in providers.values())
    # Matched as SOQL matches strings: case-insensitively.
    found = org.sf().query("SELECT Id FROM CallCoachingMediaProvider WHERE ProviderName = 'AIRCALL'")
    assert [r["Id"] for r in found["records"]] == [providers["Aircall"]["Id"]]


def test_an_admin_activates_a_provider_by_updating_the_record(org: EmulatorHandle) -> None:
    sf = org.sf()
    aircall = _providers(org)["Aircall"]["Id"]
    sf.CallCoachingMediaProvider.update(aircall, {"IsActive": True})
    assert _providers(org)["Aircall"]["IsActive"] is True
    assert org.calls()["writes_by_operation"] == {"rest.sobject.update": 1}


def test_the_provider_has_no_name_field(org: EmulatorHandle) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        org.sf().query("SELECT Name FROM CallCoachingMediaProvider")
    assert _error(raised.value)["errorCode"] == "INVALID_FIELD"
    names = {f["name"] for f in org.sf().CallCoachingMediaProvider.describe()["fields"]}
    assert {"ProviderName", "ProviderDescription", "IsActive", "ConversationVendorInfoId"} <= names
    assert "Name" not in names


def test_a_partner_inserts_its_own_provider_inactive_by_default(org: EmulatorHandle) -> None:
    created = org.sf().CallCoachingMediaProvider.create({"ProviderName": "Natterbox"})
    assert created["id"].startswith("0hn")
    assert _providers(org)["Natterbox"]["IsActive"] is False


def test_uninstalling_removes_providers_and_fields_and_reinstalling_brings_them_back(
    org: EmulatorHandle,
) -> None:
    sf = org.sf()
    sf.CallCoachingMediaProvider.update(_providers(org)["Aircall"]["Id"], {"IsActive": True})
    org.settings(voice_connector_installed=False)
    assert _providers(org) == {}
    assert not [f for f in sf.User.describe()["fields"] if f["custom"]]
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT vconn__Aircall_User_Identifier__c FROM User")
    org.settings(voice_connector_installed=True)
    providers = _providers(org)
    assert set(providers) == {"Aircall", "Dialpad", "RingCentral"}
    assert providers["Aircall"]["IsActive"] is False


@pytest.fixture(params=["vconn", "acme_vc"])
def namespace(request: pytest.FixtureRequest, org: EmulatorHandle) -> str:
    """Each User-field test runs with two package namespaces: nothing may depend on one API name."""
    org.settings(voice_connector_namespace=request.param)
    return str(request.param)


def _identifier(org: EmulatorHandle) -> str:
    """The Aircall identifier field, found as a client must find it: by its label in the User describe."""
    fields = org.sf().User.describe()["fields"]
    matches = [f for f in fields if f["label"] == "Aircall User Identifier" and f["custom"]]
    assert len(matches) == 1
    return str(matches[0]["name"])


def test_the_identifier_field_is_a_custom_user_field_in_the_packages_namespace(
    org: EmulatorHandle, namespace: str
) -> None:
    name = _identifier(org)
    assert name == f"{namespace}__Aircall_User_Identifier__c"
    field = next(f for f in org.sf().User.describe()["fields"] if f["name"] == name)
    assert (field["type"], field["createable"], field["updateable"], field["nillable"]) == (
        "string",
        True,
        True,
        True,
    )
    labels = {f["label"] for f in org.sf().User.describe()["fields"] if f["custom"]}
    assert labels == {"Aircall User Identifier", "Dialpad User Identifier", "RingCentral User Identifier"}


def test_the_identifier_is_written_and_queried_like_any_field(org: EmulatorHandle, namespace: str) -> None:
    sf = org.sf()
    name = _identifier(org)
    admin = sf.query("SELECT Id FROM User")["records"][0]["Id"]
    sf.User.update(admin, {name: "1234567"})
    rows = sf.query(f"SELECT Id, {name} FROM User WHERE {name} = '1234567'")["records"]
    assert [(r["Id"], r[name]) for r in rows] == [(admin, "1234567")]
    assert sf.User.get(admin)[name] == "1234567"
    # Through sObject Collections too, as a client batching reps does.
    answer = (
        org.session()
        .patch(
            f"{org.instance_url}/services/data/v63.0/composite/sobjects",
            json={"allOrNone": True, "records": [{"attributes": {"type": "User"}, "Id": admin, name: None}]},
            headers={"Authorization": f"Bearer {org.access_token}"},
        )
        .json()
    )
    assert answer == [{"id": admin, "success": True, "errors": []}]
    assert sf.User.get(admin)[name] is None


def test_another_namespaces_name_is_no_field(org: EmulatorHandle, namespace: str) -> None:
    other = "vconn" if namespace != "vconn" else "acme_vc"
    with pytest.raises(SalesforceError) as raised:
        org.sf().query(f"SELECT {other}__Aircall_User_Identifier__c FROM User")
    assert _error(raised.value)["errorCode"] == "INVALID_FIELD"


# ---- VoiceCall ---------------------------------------------------------------------------------------------


def _activate_aircall(org: EmulatorHandle) -> str:
    aircall = _providers(org)["Aircall"]["Id"]
    org.sf().CallCoachingMediaProvider.update(aircall, {"IsActive": True})
    return str(aircall)


def test_the_voice_calls_control_records_calls_through_the_aircall_provider(org: EmulatorHandle) -> None:
    aircall = _activate_aircall(org)
    ids = org.receive_voice_calls(2)
    assert len(ids) == 2 and all(i.startswith("0LQ") for i in ids)
    rows = org.sf().query(
        "SELECT Id, CallType, MediaProviderId, MediaProvider.ProviderName, CallStartDateTime FROM VoiceCall "
        "WHERE CallStartDateTime = LAST_N_DAYS:7"
    )["records"]
    assert sorted(r["Id"] for r in rows) == sorted(ids)
    providers = {(r["MediaProviderId"], r["MediaProvider"]["ProviderName"]) for r in rows}
    assert providers == {(aircall, "Aircall")}


def test_calls_are_counted_per_provider_and_window(org: EmulatorHandle) -> None:
    aircall = _activate_aircall(org)
    org.receive_voice_calls(3)
    sf = org.sf()
    dialpad = _providers(org)["Dialpad"]["Id"]
    sf.VoiceCall.create(
        {
            "CallType": "Outbound",
            "FromPhoneNumber": "+33100000000",
            "ToPhoneNumber": "+33100000001",
            "CallStartDateTime": "2020-01-01T10:00:00.000Z",
            "CallEndDateTime": "2020-01-01T10:02:00.000Z",
            "MediaProviderId": aircall,
        }
    )
    recent = (
        f"SELECT COUNT() FROM VoiceCall WHERE MediaProviderId = '{aircall}' "
        "AND CallStartDateTime = LAST_N_DAYS:7"
    )
    assert sf.query(recent)["totalSize"] == 3
    assert sf.query(f"SELECT COUNT() FROM VoiceCall WHERE MediaProviderId = '{aircall}'")["totalSize"] == 4
    assert sf.query(f"SELECT COUNT() FROM VoiceCall WHERE MediaProviderId = '{dialpad}'")["totalSize"] == 0
    old = "SELECT COUNT() FROM VoiceCall WHERE CallStartDateTime < 2021-01-01T00:00:00Z"
    assert sf.query(old)["totalSize"] == 1


def test_no_call_is_received_through_an_inactive_or_missing_provider(org: EmulatorHandle) -> None:
    with pytest.raises(RuntimeError, match="409.*inactive"):
        org.receive_voice_calls(1)
    org.settings(voice_connector_installed=False)
    with pytest.raises(RuntimeError, match="409.*not installed"):
        org.receive_voice_calls(1)
    assert org.sf().query("SELECT COUNT() FROM VoiceCall")["totalSize"] == 0


def test_a_voice_call_needs_its_type_numbers_and_times(org: EmulatorHandle) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        org.sf().VoiceCall.create({"CallType": "Inbound", "FromPhoneNumber": "+33100000000"})
    assert _error(raised.value)["errorCode"] == "REQUIRED_FIELD_MISSING"
    missing = set(_error(raised.value)["fields"])
    assert missing == {"ToPhoneNumber", "CallStartDateTime", "CallEndDateTime"}
