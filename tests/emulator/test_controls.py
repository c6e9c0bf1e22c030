"""Test controls: call counters, faults, settings, reset, daily API limit, latency."""

from __future__ import annotations

import time

import pytest
import requests
import zeep.exceptions
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.seeds import auth_provider_by_hand, eci_named_credential_by_hand

STANDARD_USER = {
    "LastName": "Fault",
    "Email": "fault@eci-test.example",
    "Alias": "fault",
    "TimeZoneSidKey": "America/Los_Angeles",
    "LocaleSidKey": "en_US",
    "EmailEncodingKey": "UTF-8",
    "LanguageLocaleKey": "en_US",
}


def _new_user(org: EmulatorHandle, username: str) -> dict[str, str]:
    sf = org.sf()
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]
    return {**STANDARD_USER, "Username": username, "ProfileId": profile}


def _users_named(org: EmulatorHandle, username: str) -> int:
    return int(org.sf().query(f"SELECT Id FROM User WHERE Username = '{username}'")["totalSize"])


def test_counters_count_api_calls_and_writes_by_operation(org: EmulatorHandle) -> None:
    sf = org.sf()
    body = _new_user(org, "count@eci-test.example")  # one query
    sf.User.create(body)
    sf.query("SELECT Id FROM User")
    org.session().get(f"{org.aircall_url}/ping", auth=(org.aircall_api_id, org.aircall_api_token))
    calls = org.calls()
    assert calls["total"] == 3
    assert calls["by_operation"]["rest.query"] == 2
    assert calls["by_operation"]["rest.sobject.create"] == 1
    # The fake Aircall API and the controls are listed but are not Salesforce API calls.
    assert calls["by_operation"]["aircall.ping"] == 1
    assert "controls.calls" in calls["by_operation"]
    assert calls["writes"] == 1 and calls["writes_by_operation"] == {"rest.sobject.create": 1}


def test_failed_writes_are_not_counted_as_writes(org: EmulatorHandle) -> None:
    sf = org.sf()
    with pytest.raises(SalesforceMalformedRequest):
        sf.User.create({"LastName": "x"})
    calls = org.calls()
    assert calls["by_operation"]["rest.sobject.create"] == 1 and calls["writes"] == 0


def test_calls_reset_zeroes_the_counters(org: EmulatorHandle) -> None:
    org.sf().query("SELECT Id FROM User")
    org.reset_calls()
    assert org.calls()["total"] == 0


def test_controls_need_the_emulator_token(org: EmulatorHandle) -> None:
    r = org.session().get(f"{org.instance_url}/__emulator/calls", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_settings_round_trip_and_unknown_keys_are_refused(org: EmulatorHandle) -> None:
    assert org.settings() == {
        "edition": "Enterprise",
        "site_domain_registered": True,
        "connected_app_creation_allowed": True,
        "eci_enabled": True,
        "session_seconds": 7200,
        "query_batch_size": 2000,
        "daily_api_limit": 100000,
        "latency_ms": 0,
        "deploy_checks_in_progress": 0,
        "author_apex": True,
        "sandbox": True,
        "eci_licensed": True,
        "eci_unlicensed_answer": "off",
        "eci_dependents_readonly": 0,
        "eci_license_seats": 100,
        "voice_connector_installed": True,
        "voice_connector_namespace": "vconn",
        "aircall_rate_limit": 60,
    }
    assert org.settings(edition="Developer")["edition"] == "Developer"
    org_type = org.sf().query("SELECT OrganizationType FROM Organization")["records"][0]["OrganizationType"]
    assert org_type == "Developer Edition"
    with pytest.raises(RuntimeError, match="unknown setting"):
        org.settings(no_such_setting=True)
    with pytest.raises(RuntimeError, match="eci_unlicensed_answer must be one of off, unavailable"):
        org.settings(eci_unlicensed_answer="maybe")


def test_reset_restores_the_seeded_org_with_the_same_token(org: EmulatorHandle) -> None:
    sf = org.sf()
    sf.User.create(_new_user(org, "gone@eci-test.example"))
    org.settings(edition="Professional")
    org.fault(kind="http_503", operation="rest.describe", count=5)
    org.reset()
    assert _users_named(org, "gone@eci-test.example") == 0
    assert org.settings()["edition"] == "Enterprise"
    assert org.control("GET", "faults") == {"faults": []}
    assert org.calls()["total"] == 1


def test_reset_is_fast(org: EmulatorHandle) -> None:
    t0 = time.perf_counter()
    for _ in range(5):
        org.reset()
    assert (time.perf_counter() - t0) / 5 < 0.1


def test_fault_http_503_hits_only_the_matching_operation_for_count_calls(org: EmulatorHandle) -> None:
    sf = org.sf()
    org.fault(kind="http_503", operation="rest.query", count=2)
    sf.User.describe()  # other operations are untouched
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as raised:
            sf.query("SELECT Id FROM User")
        assert raised.value.status == 503
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1


def test_fault_unable_to_lock_row_is_a_rest_error_body(org: EmulatorHandle) -> None:
    sf = org.sf()
    org.fault(kind="unable_to_lock_row", operation="rest.sobject.*")
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.create(_new_user(org, "locked@eci-test.example"))
    assert raised.value.content == [
        {"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW"}
    ]
    assert _users_named(org, "locked@eci-test.example") == 0


def test_fault_request_limit_exceeded_is_403(org: EmulatorHandle) -> None:
    org.fault(kind="request_limit_exceeded", operation="rest.query")
    with pytest.raises(SalesforceRefusedRequest) as raised:
        org.sf().query("SELECT Id FROM User")
    assert raised.value.status == 403
    assert raised.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_fault_invalid_session_id_is_401(org: EmulatorHandle) -> None:
    org.fault(kind="invalid_session_id", operation="rest.query")
    with pytest.raises(SalesforceExpiredSession):
        org.sf().query("SELECT Id FROM User")


def test_fault_latency_delays_the_call(org: EmulatorHandle) -> None:
    sf = org.sf()
    org.fault(kind="latency", operation="rest.query", latency_ms=300)
    t0 = time.perf_counter()
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    assert time.perf_counter() - t0 >= 0.3


def test_fault_reset_before_processing_applies_nothing(org: EmulatorHandle) -> None:
    body = _new_user(org, "reset@eci-test.example")
    org.fault(kind="reset_before", operation="rest.sobject.create")
    with pytest.raises(requests.exceptions.ConnectionError):
        org.sf().User.create(body)
    assert _users_named(org, "reset@eci-test.example") == 0
    assert "rest.sobject.create" not in org.calls()["by_operation"]


def test_fault_reply_lost_after_commit_applies_the_change(org: EmulatorHandle) -> None:
    body = _new_user(org, "lost@eci-test.example")
    org.fault(kind="reply_lost", operation="rest.sobject.create")
    with pytest.raises(requests.exceptions.ConnectionError):
        org.sf().User.create(body)
    assert _users_named(org, "lost@eci-test.example") == 1
    assert org.calls()["writes_by_operation"] == {"rest.sobject.create": 1}


def test_faults_match_metadata_calls_by_artifact_name(org: EmulatorHandle) -> None:
    mdapi = org.mdapi()
    org.fault(kind="unable_to_lock_row", operation="metadata.readMetadata", name="Target_App")
    mdapi.ConnectedApp.read("Other_App")  # different name: not affected
    with pytest.raises(zeep.exceptions.Fault) as raised:
        mdapi.ConnectedApp.read("Target_App")
    assert raised.value.code == "sf:UNABLE_TO_LOCK_ROW"
    assert org.control("GET", "faults") == {"faults": []}


def test_unknown_fault_kind_is_refused(org: EmulatorHandle) -> None:
    with pytest.raises(RuntimeError, match="kind must be one of"):
        org.fault(kind="meteor_strike")


def test_daily_api_limit_answers_request_limit_exceeded_and_limits_shows_usage(org: EmulatorHandle) -> None:
    sf = org.sf()
    org.settings(daily_api_limit=5)
    sf.query("SELECT Id FROM User")
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
    for _ in range(3):  # calls 3..5 of 5
        sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceRefusedRequest) as raised:
        sf.query("SELECT Id FROM User")
    assert raised.value.status == 403
    assert raised.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    with pytest.raises(zeep.exceptions.Fault) as fault:
        org.mdapi().ConnectedApp.read("Anything")
    assert fault.value.code == "sf:REQUEST_LIMIT_EXCEEDED"


def test_latency_setting_slows_every_api_call(org: EmulatorHandle) -> None:
    sf = org.sf()
    org.settings(latency_ms=150)
    t0 = time.perf_counter()
    sf.query("SELECT Id FROM User")
    assert time.perf_counter() - t0 >= 0.15


def test_named_credential_authorize_control_reaches_the_metadata_rules(org: EmulatorHandle) -> None:
    auth_provider_by_hand(org)
    eci_named_credential_by_hand(org, fullName="ECI_NC", label="ECI NC", oauthScope="refresh_token api")
    assert org.control("POST", "named-credentials/ECI_NC/authorize") == {"authorized": "ECI_NC"}
    with pytest.raises(RuntimeError, match="404"):
        org.authorize_named_credential("No_Such_NC")


def test_a_new_aircall_key_refuses_the_old_one_until_reset(org: EmulatorHandle) -> None:
    def ping(token: str) -> int:
        return org.session().get(f"{org.aircall_url}/ping", auth=(org.aircall_api_id, token)).status_code

    assert ping(org.aircall_api_token) == 200
    assert org.control("POST", "aircall/key", {"api_token": "generated-anew-7d2c"}) == {
        "api_id": org.aircall_api_id
    }
    assert (ping(org.aircall_api_token), ping("generated-anew-7d2c")) == (403, 200)
    org.reset()
    assert (ping(org.aircall_api_token), ping("generated-anew-7d2c")) == (200, 403)
