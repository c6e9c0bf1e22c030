"""The Metadata SOAP surface: parsing, per-record results, faults and limits, via simple-salesforce."""

from __future__ import annotations

from typing import Any

import pytest
import zeep.exceptions
from lxml import etree

from devtools.sf_emulator import metadata_api
from devtools.sf_emulator.store import Org
from tests.support.in_process_mdapi import connected_app

MD = metadata_api.MD_NS


def _message(mdapi: Any, operation: str, *args: Any) -> bytes:
    """The exact bytes simple-salesforce's zeep client would POST for this call."""
    node = mdapi._client.create_message(
        mdapi._service, operation, *args, _soapheaders=[mdapi._session_header]
    )
    return bytes(etree.tostring(node))


def _fault_of(body: bytes) -> tuple[str, str]:
    root = etree.fromstring(body)
    fault = root.find(f"{{{metadata_api.SOAP_NS}}}Body/{{{metadata_api.SOAP_NS}}}Fault")
    assert fault is not None, body
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def test_created_connected_app_reads_back_through_simple_salesforce(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    app = mdapi.ConnectedApp.read(["ECI_Connected_App"])
    assert app.fullName == "ECI_Connected_App"
    assert app.label == "ECI Connected App"
    assert app.oauthConfig.scopes == ["Api", "Web", "RefreshToken", "Content"]
    assert app.profileName == ["Standard User", "System Administrator"]


def test_read_of_a_missing_name_returns_an_empty_record_without_full_name(mdapi: Any) -> None:
    # certinia/apex-mdapi#142: readMetadata answers an "empty" object, not an error or a shorter list.
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    missing = mdapi.ConnectedApp.read(["Nope"])
    assert missing.fullName is None and missing.label is None
    both = mdapi.ConnectedApp.read(["Nope", "ECI_Connected_App"])
    assert [r.fullName for r in both] == [None, "ECI_Connected_App"]


def test_full_names_are_case_insensitive_like_salesforce(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    assert mdapi.ConnectedApp.read(["eci_connected_app"]).fullName == "ECI_Connected_App"


def test_element_not_in_the_type_is_rejected_with_the_invalid_at_this_location_fault(
    mdapi: Any, md_org: Org
) -> None:
    body = _message(mdapi, "createMetadata", [connected_app(mdapi)])
    body = body.replace(b"<ns0:label>", b"<ns0:notAField>1</ns0:notAField><ns0:label>")
    status, answer = metadata_api.handle(md_org, body)
    assert status == 500
    assert _fault_of(answer) == ("soapenv:Client", f"Element {{{MD}}}notAField invalid at this location")
    assert md_org.metadata_get("ConnectedApp", "ECI_Connected_App") is None


def test_element_unknown_in_a_nested_type_is_rejected_too(mdapi: Any, md_org: Org) -> None:
    body = _message(mdapi, "createMetadata", [connected_app(mdapi)])
    body = body.replace(b"<ns0:callbackUrl>", b"<ns0:consumerKeyz>k</ns0:consumerKeyz><ns0:callbackUrl>")
    status, answer = metadata_api.handle(md_org, body)
    assert (status, _fault_of(answer)[1]) == (500, f"Element {{{MD}}}consumerKeyz invalid at this location")


def test_unknown_xsi_type_is_an_invalid_type_fault(mdapi: Any, md_org: Org) -> None:
    body = _message(mdapi, "createMetadata", [connected_app(mdapi)]).replace(
        b":ConnectedApp", b":ConnectedAppz"
    )
    status, answer = metadata_api.handle(md_org, body)
    assert (status, _fault_of(answer)) == (
        500,
        ("sf:INVALID_TYPE", "INVALID_TYPE: Unknown type: ConnectedAppz"),
    )


def test_a_wsdl_type_the_emulator_does_not_model_fails_loudly(mdapi: Any) -> None:
    with pytest.raises(zeep.exceptions.Fault) as raised:
        mdapi.CustomObject.read(["Account"])
    assert raised.value.code == "sf:INVALID_TYPE" and "not emulated" in raised.value.message


def test_more_than_ten_records_is_the_exceeded_id_limit_fault(mdapi: Any) -> None:
    apps = [connected_app(mdapi, f"App_{i}") for i in range(11)]
    with pytest.raises(zeep.exceptions.Fault) as raised:
        mdapi.ConnectedApp.create(apps)
    assert raised.value.code == "sf:EXCEEDED_ID_LIMIT"
    assert raised.value.message == (
        "EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 10 records in this operation"
    )
    with pytest.raises(zeep.exceptions.Fault):
        mdapi.ConnectedApp.read([f"App_{i}" for i in range(11)])
    mdapi.ConnectedApp.create(apps[:10])  # exactly ten is allowed
    assert len(mdapi.ConnectedApp.read([f"App_{i}" for i in range(10)])) == 10


def test_required_element_missing_fails_that_record_only(mdapi: Any, md_org: Org) -> None:
    body = _message(mdapi, "createMetadata", [connected_app(mdapi, "First"), connected_app(mdapi, "Second")])
    # Drop contactEmail (minOccurs=1 in the WSDL) from the first record only.
    body = body.replace(b"<ns0:contactEmail>admin@example.com</ns0:contactEmail>", b"", 1)
    status, answer = metadata_api.handle(md_org, body)
    results = etree.fromstring(answer).findall(f".//{{{MD}}}result")
    assert status == 200
    assert [r.findtext(f"{{{MD}}}success") for r in results] == ["false", "true"]
    assert results[0].findtext(f"{{{MD}}}errors/{{{MD}}}statusCode") == "REQUIRED_FIELD_MISSING"
    assert results[0].findtext(f"{{{MD}}}errors/{{{MD}}}fields") == "contactEmail"
    assert md_org.metadata_get("ConnectedApp", "Second") is not None
    assert md_org.metadata_get("ConnectedApp", "First") is None


def test_per_record_save_results_carry_status_code_message_and_fields(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, "Existing")])
    results = mdapi._service.createMetadata(
        [connected_app(mdapi, "Existing"), connected_app(mdapi, "Fresh")],
        _soapheaders=[mdapi._session_header],
    )
    assert [(r.fullName, r.success) for r in results] == [("Existing", False), ("Fresh", True)]
    assert results[0].errors[0].statusCode == "DUPLICATE_DEVELOPER_NAME"
    assert results[0].errors[0].fields == ["fullName"]
    assert results[1].errors == []


def test_upsert_reports_created_then_updated(mdapi: Any) -> None:
    first = mdapi._service.upsertMetadata([connected_app(mdapi)], _soapheaders=[mdapi._session_header])
    second = mdapi._service.upsertMetadata([connected_app(mdapi)], _soapheaders=[mdapi._session_header])
    assert [(r.success, r.created) for r in first + second] == [(True, True), (True, False)]


def test_update_of_a_missing_component_is_invalid_cross_reference_key(mdapi: Any) -> None:
    with pytest.raises(
        Exception, match=r"INVALID_CROSS_REFERENCE_KEY, In field: fullName - no ConnectedApp named"
    ):
        mdapi.ConnectedApp.update([connected_app(mdapi, "Ghost")])


def test_delete_removes_the_component_and_a_second_delete_fails(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    mdapi.ConnectedApp.delete(["ECI_Connected_App"])
    assert mdapi.ConnectedApp.read(["ECI_Connected_App"]).fullName is None
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        mdapi.ConnectedApp.delete(["ECI_Connected_App"])


def test_rename_moves_the_component_and_refuses_a_taken_name(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, "Old_Name"), connected_app(mdapi, "Taken")])
    mdapi.ConnectedApp.rename("Old_Name", "New_Name")
    assert mdapi.ConnectedApp.read(["New_Name"]).label == "Old Name"
    assert mdapi.ConnectedApp.read(["Old_Name"]).fullName is None
    with pytest.raises(Exception, match="DUPLICATE_DEVELOPER_NAME"):
        mdapi.ConnectedApp.rename("New_Name", "Taken")


def test_list_metadata_returns_file_properties_of_each_component(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, "B_App"), connected_app(mdapi, "A_App")])
    listed = mdapi.list_metadata([mdapi.ListMetadataQuery(type="ConnectedApp")])
    assert [p.fullName for p in listed] == ["A_App", "B_App"]
    first = listed[0]
    assert first.type == "ConnectedApp"
    assert first.fileName == "connectedApps/A_App.connectedApp"
    assert first.id == md_org.metadata_get("ConnectedApp", "A_App")["_id"]  # type: ignore[index]
    assert first.createdByName == "Emulator Admin" and first.createdDate is not None


def test_list_metadata_of_an_unknown_type_is_an_invalid_type_fault(mdapi: Any) -> None:
    with pytest.raises(zeep.exceptions.Fault) as raised:
        mdapi.list_metadata([mdapi.ListMetadataQuery(type="NoSuchType")])
    assert raised.value.message == "INVALID_TYPE: Unknown type: NoSuchType"


def test_describe_metadata_lists_the_served_types_with_their_directories(mdapi: Any) -> None:
    described = mdapi.describe_metadata()
    by_name = {o.xmlName: o for o in described.metadataObjects}
    assert {"ConnectedApp", "AuthProvider", "NamedCredential", "CustomSite", "PermissionSet"} <= set(by_name)
    assert {"ExternalClientApplication", "ExtlClntAppGlobalOauthSettings"} <= set(by_name)
    assert (by_name["CustomSite"].directoryName, by_name["CustomSite"].suffix) == ("sites", "site")
    assert described.partialSaveAllowed is True


def test_soap_fault_is_understood_by_zeep_as_salesforce_sends_it(mdapi: Any) -> None:
    fault = metadata_api.soap_fault(
        "sf:INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session"
    )

    class FaultingTransport(zeep.transports.Transport):
        def post(self, address: str, message: Any, headers: dict[str, str]) -> Any:
            import requests

            response = requests.Response()
            response.status_code, response._content = 500, fault
            response.headers["Content-Type"] = "text/xml"
            return response

    original = mdapi._client.transport
    mdapi._client.transport = FaultingTransport()
    try:
        with pytest.raises(zeep.exceptions.Fault) as raised:
            mdapi.ConnectedApp.read(["X"])
    finally:
        mdapi._client.transport = original
    assert raised.value.code == "sf:INVALID_SESSION_ID"
    assert (
        raised.value.message
        == "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"
    )
    detail = raised.value.detail
    assert detail is not None and detail.findtext(f".//{{{MD}}}exceptionCode") == "INVALID_SESSION_ID"


@pytest.mark.parametrize(
    ("operation", "args", "names"),
    [
        ("readMetadata", ("ConnectedApp", ["A", "B"]), ["A", "B"]),
        ("deleteMetadata", ("ConnectedApp", ["A"]), ["A"]),
        ("renameMetadata", ("ConnectedApp", "A", "B"), ["A", "B"]),
        ("describeMetadata", (63.0,), []),
    ],
)
def test_peek_finds_operation_session_and_names(
    mdapi: Any, operation: str, args: tuple[Any, ...], names: list[str]
) -> None:
    call = metadata_api.peek(_message(mdapi, operation, *args))
    assert (call.operation, call.session_id, call.names) == (operation, "00D!in-process", names)


def test_peek_reads_record_names_and_type_of_a_create(mdapi: Any) -> None:
    call = metadata_api.peek(
        _message(mdapi, "createMetadata", [connected_app(mdapi, "X"), connected_app(mdapi, "Y")])
    )
    assert (call.operation, call.names, call.type_name) == ("createMetadata", ["X", "Y"], "ConnectedApp")


def test_peek_of_garbage_is_an_empty_call_not_an_exception() -> None:
    assert metadata_api.peek(b"<not-xml").operation == ""


def test_malformed_xml_and_unknown_operation_are_client_faults(mdapi: Any, md_org: Org) -> None:
    status, answer = metadata_api.handle(md_org, b"<soapenv:Envelope")
    assert status == 500 and _fault_of(answer)[0] == "soapenv:Client"
    body = _message(mdapi, "describeMetadata", 63.0).replace(b"describeMetadata", b"frobnicate")
    status, answer = metadata_api.handle(md_org, body)
    assert _fault_of(answer) == (
        "soapenv:Client",
        f"No operation available for request {{{MD}}}frobnicate, please check the WSDL for the service.",
    )


def test_the_wsdl_is_loaded_once_per_process() -> None:
    first = metadata_api.schema()
    assert metadata_api.schema() is first
    assert metadata_api.warm_up() is metadata_api.warm_up()
    assert first.load_seconds > 0


def test_a_store_rule_refusing_one_record_fails_only_that_record(
    mdapi: Any, md_org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devtools.sf_emulator.store import ApiError

    real_insert = md_org.sobject_insert

    def insert(sobject: str, fields: dict[str, Any]) -> str:
        if fields.get("Name") == "Refused App":
            raise ApiError(400, "DUPLICATE_VALUE", "duplicate value found", ["Name"])
        return real_insert(sobject, fields)

    monkeypatch.setattr(md_org, "sobject_insert", insert)
    refused = connected_app(mdapi, "Refused_App")
    results = mdapi._service.createMetadata(
        [refused, connected_app(mdapi, "Fine_App")], _soapheaders=[mdapi._session_header]
    )
    assert [(r.success, [e.statusCode for e in r.errors]) for r in results] == [
        (False, ["DUPLICATE_VALUE"]),
        (True, []),
    ]


def test_an_emulator_bug_is_an_unknown_exception_fault_that_does_not_echo_values(
    mdapi: Any, md_org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devtools.sf_emulator import metadata_types

    def explode(org: Any, record: dict[str, Any]) -> None:
        raise RuntimeError(f"boom {record['oauthConfig']['consumerSecret']}")

    monkeypatch.setattr(metadata_types.RULES["ConnectedApp"], "create", explode)
    with pytest.raises(zeep.exceptions.Fault) as raised:
        mdapi.ConnectedApp.create([connected_app(mdapi, consumerSecret="do-not-echo-me")])
    assert raised.value.code == "sf:UNKNOWN_EXCEPTION"
    assert "RuntimeError" in raised.value.message and "do-not-echo-me" not in raised.value.message


def test_a_value_outside_its_enumeration_is_rejected_like_salesforce(mdapi: Any, md_org: Org) -> None:
    provider = mdapi.AuthProvider(fullName="P", friendlyName="P", providerType="NotAProvider")
    with pytest.raises(zeep.exceptions.Fault) as raised:
        mdapi.AuthProvider.create([provider])
    assert (raised.value.code, raised.value.message) == (
        "soapenv:Client",
        "'NotAProvider' is not a valid value for the enum 'AuthProviderType'",
    )
    assert md_org.metadata_get("AuthProvider", "P") is None


def test_a_malformed_boolean_is_rejected_with_the_xsd_boolean_message(mdapi: Any, md_org: Org) -> None:
    body = _message(mdapi, "createMetadata", [connected_app(mdapi, isAdminApproved=True)])
    body = body.replace(b"<ns0:isAdminApproved>true<", b"<ns0:isAdminApproved><")
    status, answer = metadata_api.handle(md_org, body)
    assert (status, _fault_of(answer)) == (
        500,
        ("soapenv:Client", "'' is not valid for type xsd:boolean, should be '0', '1', 'true' or 'false'"),
    )


def test_read_records_carry_their_xsi_type(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    status, answer = metadata_api.handle(
        md_org, _message(mdapi, "readMetadata", "ConnectedApp", ["ECI_Connected_App"])
    )
    records = etree.fromstring(answer).findall(f".//{{{MD}}}records")
    assert status == 200 and len(records) == 1
    xsi_type = records[0].get(f"{{{metadata_api.XSI_NS}}}type") or ""
    assert xsi_type.split(":")[-1] == "ConnectedApp"


def test_replies_use_the_metadata_namespace_as_default_and_unprefixed_xsi_types(
    mdapi: Any, md_org: Org
) -> None:
    # Salesforce's shape: <soapenv:Envelope ... xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi=...>
    # <soapenv:Body><readMetadataResponse><result><records xsi:type="ConnectedApp">, with a double-quoted
    # declaration (a readMetadataResponse recorded in a public project's test fixture has exactly this form).
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    _, answer = metadata_api.handle(
        md_org, _message(mdapi, "readMetadata", "ConnectedApp", ["ECI_Connected_App"])
    )
    assert answer.startswith(b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope')
    assert b'xmlns="http://soap.sforce.com/2006/04/metadata"' in answer
    assert b'<soapenv:Body><readMetadataResponse><result><records xsi:type="ConnectedApp">' in answer
    assert b"ns0" not in answer


def test_list_metadata_dates_are_utc_with_a_z(mdapi: Any, md_org: Org) -> None:
    # FileProperties dates as the Metadata API writes them: 2024-03-01T10:00:00.000Z (not REST's +0000).
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    query = mdapi._client.get_type("ns0:ListMetadataQuery")(type="ConnectedApp")
    _, answer = metadata_api.handle(md_org, _message(mdapi, "listMetadata", [query], "63.0"))
    root = etree.fromstring(answer)
    dates = [n.text for n in root.iter(f"{{{MD}}}createdDate", f"{{{MD}}}lastModifiedDate")]
    assert dates and all(d and d.endswith(".000Z") for d in dates), dates
