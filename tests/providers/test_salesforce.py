"""The shared client (providers/salesforce.py) against the emulator: connection modes, laziness, the one error
type, retries of transient faults only, session renewal, and that no secret reaches the pickle or a
message."""

from __future__ import annotations

import base64
import http.server
import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from providers.config.connection import connection_settings
from providers.integration_user import IntegrationUserProvider
from salesforce import (
    RETRY_ATTEMPTS,
    ConfigurationError,
    ConnectionSettings,
    SalesforceClient,
    SalesforceError,
    client_for,
    jwt_audience,
)
from tests.support.driver import Driver, configured, provider_config, sfdx_settings
from tests.support.keys import rsa_key_and_certificate

USER = {
    "username": "eci.client@example.com",
    "email": "eci@example.com",
    "last_name": "Client",
    "alias": "ecicl",
}


def settings_for(org: Any, **extra: str) -> ConnectionSettings:
    return connection_settings(provider_config(org, **extra))


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text


# ---- configuration and laziness ---------------------------------------------------------------------------
def test_configure_check_and_diff_make_no_call(org: Any) -> None:
    provider = configured(IntegrationUserProvider(), org)
    org.reset_calls()
    checked = provider.check({}, {"__provider": "p", **USER})
    provider.diff("005000000000000AAA", {**checked.inputs, "adopted": False}, checked.inputs)
    assert org.calls()["total"] == 0


def test_the_pickled_provider_holds_no_credential_even_after_configure(org: Any) -> None:
    provider = configured(IntegrationUserProvider(), org)
    provider.client.query("SELECT Id FROM Organization", artifact="test")  # a live session exists too
    pickled = base64.b64decode(serialize_provider(provider)).decode("latin-1")
    assert_no_secret(pickled, org.access_token)
    assert "accessToken" not in pickled and "instanceUrl" not in pickled


def test_settings_repr_hides_secrets(org: Any) -> None:
    settings = settings_for(org)
    assert org.access_token not in repr(settings)


def test_missing_connection_names_the_config_keys() -> None:
    client = SalesforceClient(connection_settings({}))
    with pytest.raises(ConfigurationError) as info:
        client.query("SELECT Id FROM Organization", artifact="test")
    assert "eci-aircall:accessToken" in str(info.value) and "sf org display" in str(info.value)


def test_malformed_sfdx_auth_url_is_a_configuration_error_without_the_secret() -> None:
    bad = "force://PlatformCLI-no-separators-5Aep861SECRETPART"
    settings = connection_settings({"eci-aircall:sfdxAuthUrl": bad})
    with pytest.raises(ConfigurationError) as info:
        SalesforceClient(settings).query("SELECT Id FROM Organization", artifact="test")
    assert "eci-aircall:sfdxAuthUrl" in str(info.value)
    assert bad not in str(info.value)


# ---- the three connection modes ----------------------------------------------------------------------------
def test_access_token_mode_needs_no_login(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    org.reset_calls()
    assert client.query("SELECT Id FROM Organization", artifact="test")
    assert org.calls()["by_operation"].get("auth.oauth_token", 0) == 0
    assert org.calls()["total"] == 1


def test_sfdx_auth_url_logs_in_once_with_the_refresh_token(org: Any) -> None:
    client = SalesforceClient(sfdx_settings(org))
    org.reset_calls()
    assert client.instance_url == org.instance_url  # from the URL itself: no call
    assert org.calls()["total"] == 0
    client.query("SELECT Id FROM Organization", artifact="test")
    client.query("SELECT Id FROM Profile", artifact="test")
    calls = org.calls()["by_operation"]
    assert calls["auth.oauth_token"] == 1 and calls["rest.query"] == 2


def _rsa_pair() -> tuple[str, str]:
    return rsa_key_and_certificate("eci-jwt")


def test_jwt_bearer_logs_in_with_username_client_id_and_private_key(org: Any) -> None:
    private_key, cert = _rsa_pair()
    mdapi = org.mdapi()
    mdapi.ConnectedApp.create(
        [
            mdapi.ConnectedApp(
                fullName="CI_JWT_App",
                label="CI JWT App",
                contactEmail="admin@example.com",
                oauthConfig=mdapi.ConnectedAppOauthConfig(
                    callbackUrl=f"{org.instance_url}/services/authcallback/X",
                    scopes=["Api"],
                    consumerKey="CI_JWT_CONSUMER_KEY_0123456789",
                    certificate=cert,
                ),
            )
        ]
    )
    settings = connection_settings(
        provider_config(
            org,
            accessToken="",
            username=org.username,
            clientId="CI_JWT_CONSUMER_KEY_0123456789",
            privateKey=private_key,
            loginUrl=org.instance_url,
        )
    )
    assert settings.auth_mode == "jwt"
    client = SalesforceClient(settings)
    org.reset_calls()
    assert client.query("SELECT Id FROM Organization", artifact="test")
    assert org.calls()["by_operation"]["auth.oauth_token"] == 1
    assert client.instance_url == org.instance_url


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
    ],
)
def test_jwt_audience_follows_salesforce_rules(login_url: str, audience: str) -> None:
    assert jwt_audience(login_url) == audience


# ---- errors: one type, artifact + errorCode, no secret
# -------------------------------------------------------
def test_a_rest_error_becomes_salesforce_error_with_code_artifact_and_fields(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    with pytest.raises(SalesforceError) as info:
        client.create_record("User", {"LastName": "X"}, artifact="User x")
    err = info.value
    assert err.artifact == "User x" and err.error_code and err.error_code in str(err)
    assert str(err).startswith("User x: Salesforce ")


def test_a_metadata_save_result_failure_becomes_salesforce_error(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    site = {
        "fullName": "Broken",
        "masterLabel": "Broken",
        "active": True,
        "indexPage": "SiteLogin",
        "siteAdmin": "nobody@nowhere.example",
    }
    with pytest.raises(SalesforceError) as info:
        client.metadata_create("CustomSite", [site], artifact="CustomSite Broken")
    assert info.value.artifact == "CustomSite Broken"
    assert info.value.error_code  # Salesforce's statusCode, e.g. REQUIRED_FIELD_MISSING
    assert "CustomSite Broken: Salesforce" in str(info.value)


def test_non_transient_errors_are_not_retried(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT NoSuchField__c FROM User", artifact="test")
    assert info.value.error_code == "INVALID_FIELD"
    assert org.calls()["by_operation"]["rest.query"] == 1


@pytest.mark.parametrize("kind", ["http_503", "unable_to_lock_row", "reset_before"])
def test_transient_faults_are_retried_until_the_call_succeeds(org: Any, kind: str) -> None:
    client = SalesforceClient(settings_for(org))
    client.query("SELECT Id FROM Organization", artifact="test")  # the org has answered: its 503s are retried
    org.fault(kind=kind, operation="rest.query", count=2)
    org.reset_calls()
    assert client.query("SELECT Id FROM Organization", artifact="test")
    # A connection reset before processing is not counted by the emulator: only the successful call is.
    assert org.calls()["by_operation"]["rest.query"] == (1 if kind == "reset_before" else 3)


def test_a_503_page_on_a_fresh_clients_first_call_is_retried_once_the_host_proves_to_be_the_api(
    org: Any,
) -> None:
    """A provider process's first call can meet a passing 503 page: its versions resource, asked without a
    credential, answers as Salesforce's API does, so the call is retried, not refused as a wrong host."""
    client = SalesforceClient(settings_for(org))
    org.fault(kind="http_503", operation="rest.query", count=1)
    org.reset_calls()
    assert client.query("SELECT Id FROM Organization", artifact="test")
    calls = org.calls()["by_operation"]
    assert calls["rest.query"] == 2 and calls["rest.versions"] == 1


def test_transient_faults_on_metadata_calls_are_retried(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    org.fault(kind="unable_to_lock_row", operation="metadata.readMetadata", count=1)
    org.reset_calls()
    assert client.metadata_read("CustomSite", ["Nope"], artifact="test") == [None]
    assert org.calls()["by_operation"]["metadata.readMetadata"] == 2


def test_retries_are_bounded_and_the_error_says_so(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    client.query("SELECT Id FROM Organization", artifact="test")
    org.reset_calls()
    org.fault(kind="http_503", operation="rest.query", count=50)
    started = time.monotonic()
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT Id FROM Organization", artifact="test")
    assert info.value.error_code == "HTTP_503" and "attempts" in str(info.value)
    assert time.monotonic() - started < 5
    assert org.calls()["by_operation"]["rest.query"] == 5


def test_daily_limit_reached_says_so_and_is_not_retried(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    org.fault(kind="request_limit_exceeded", operation="rest.query", count=5)
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT Id FROM Organization", artifact="test")
    assert info.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert "daily API request limit" in str(info.value)
    assert org.calls()["by_operation"]["rest.query"] == 1


def test_daily_limit_on_userinfo_keeps_salesforces_code_and_is_not_retried(org: Any) -> None:
    # The ownership check asks userinfo for the connecting user; a 403 there is Salesforce's error body
    # (REST API Developer Guide, "Status Codes and Error Responses"), not a dropped connection to retry.
    client = SalesforceClient(settings_for(org))
    org.fault(kind="request_limit_exceeded", operation="auth.userinfo", count=5)
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        client.current_user_id()
    assert info.value.error_code == "REQUEST_LIMIT_EXCEEDED" and not info.value.uncertain_write
    assert "daily API request limit" in str(info.value)
    assert org.calls()["by_operation"]["auth.userinfo"] == 1


def test_expired_access_token_says_how_to_get_a_new_one_without_leaking_it(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    org.fault(kind="invalid_session_id", operation="rest.query", count=1)
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT Id FROM Organization", artifact="test")
    text = str(info.value)
    assert info.value.error_code == "INVALID_SESSION_ID"
    assert "sf org auth show-access-token" in text
    assert "pulumi config set --secret eci-aircall:accessToken" in text
    # refresh and destroy use the token saved at the last `up` unless the program runs (pulumi/pulumi
    # pkg/cmd/pulumi/operations/refresh.go, destroy.go --run-program): the hint names those commands.
    assert "pulumi refresh --run-program" in text and "pulumi destroy --run-program" in text
    assert_no_secret(text, org.access_token)


@pytest.mark.parametrize("operation", ["rest.query", "metadata.readMetadata"])
def test_expired_session_is_renewed_once_with_the_refresh_token(org: Any, operation: str) -> None:
    client = SalesforceClient(sfdx_settings(org))
    client.query("SELECT Id FROM Organization", artifact="test")  # logged in
    org.fault(kind="invalid_session_id", operation=operation, count=1)
    org.reset_calls()
    if operation == "rest.query":
        assert client.query("SELECT Id FROM Organization", artifact="test")
    else:
        assert client.metadata_read("CustomSite", ["Nope"], artifact="test") == [None]
    calls = org.calls()["by_operation"]
    assert calls["auth.oauth_token"] == 1 and calls[operation] == 2


def test_login_is_retried_on_transient_token_endpoint_failures(org: Any) -> None:
    client = SalesforceClient(sfdx_settings(org))
    org.fault(kind="reset_before", operation="auth.oauth_token", count=2)
    assert client.query("SELECT Id FROM Organization", artifact="test")


def test_a_renewal_is_retried_on_the_token_endpoints_503_page(org: Any) -> None:
    """The token endpoint answered as Salesforce's at the first login: its later 503 page is maintenance."""
    client = SalesforceClient(sfdx_settings(org))
    client.query("SELECT Id FROM Organization", artifact="test")
    org.fault(kind="invalid_session_id", operation="rest.query", count=1)
    org.fault(kind="http_503", operation="auth.oauth_token", count=2)
    org.reset_calls()
    assert client.query("SELECT Id FROM Organization", artifact="test")
    assert org.calls()["by_operation"]["auth.oauth_token"] == 3


def test_a_first_login_answered_by_a_503_page_is_not_retried(org: Any) -> None:
    """Before it has ever answered as Salesforce's, a token endpoint's HTML 503 is taken for a wrong host:
    the refresh token goes there once, not once per retry."""
    client = SalesforceClient(sfdx_settings(org))
    org.fault(kind="http_503", operation="auth.oauth_token", count=5)
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT Id FROM Organization", artifact="test")
    assert info.value.error_code == "NOT_SALESFORCE_API" and "eci-aircall:sfdxAuthUrl" in str(info.value)
    assert org.calls()["by_operation"]["auth.oauth_token"] == 1


def test_daily_limit_at_login_says_so(org: Any) -> None:
    client = SalesforceClient(sfdx_settings(org))
    org.fault(kind="request_limit_exceeded", operation="auth.oauth_token", count=1)
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT Id FROM Organization", artifact="test")
    assert info.value.error_code == "REQUEST_LIMIT_EXCEEDED" and "daily API request limit" in str(info.value)


def test_a_session_that_stays_invalid_is_renewed_only_once(org: Any) -> None:
    client = SalesforceClient(sfdx_settings(org))
    org.fault(kind="invalid_session_id", operation="rest.query", count=10)
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT Id FROM Organization", artifact="test")
    assert info.value.error_code == "INVALID_SESSION_ID"
    calls = org.calls()["by_operation"]
    assert calls["auth.oauth_token"] == 2  # the first login + one renewal
    assert calls["rest.query"] == 2


def _org_id(org: Any) -> str:
    return str(org.sf().query("SELECT Id FROM Organization")["records"][0]["Id"])


def test_the_org_id_comes_with_an_oauth_login_without_a_call_of_its_own(org: Any) -> None:
    """The token response's identity URL (``id``: .../id/<orgId>/<userId>) names the org: the binding of a
    stack to its org costs no call beyond the login."""
    expected = _org_id(org)
    client = SalesforceClient(sfdx_settings(org))
    org.reset_calls()
    assert client.org_id() == expected
    calls = org.calls()["by_operation"]
    assert calls.get("auth.oauth_token") == 1 and "auth.userinfo" not in calls and org.calls()["total"] == 1


def test_an_access_token_names_its_org_without_a_call(org: Any) -> None:
    """A session id starts with its org's 15-character Id (00D...!...): the org binding costs no call; the
    one userinfo call, made when the user's Id is needed, then gives the 18-character form."""
    expected = _org_id(org)
    client = SalesforceClient(settings_for(org))
    org.reset_calls()
    assert client.org_id() == expected[:15] and org.calls()["total"] == 0
    assert client.current_user_id().startswith("005")
    assert client.org_id() == expected
    assert org.calls()["by_operation"]["auth.userinfo"] == 1 and org.calls()["total"] == 1


def test_one_client_per_connection_is_shared(org: Any) -> None:
    assert client_for(settings_for(org)) is client_for(settings_for(org))


# ---- reply lost after commit: create converges, never duplicates ------------------------------------------
def test_reply_lost_after_a_create_converges_on_the_one_created_record(org: Any) -> None:
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.fault(kind="reply_lost", operation="rest.sobject.create", count=1)
    outs = driver.create(**USER)
    users = org.sf().query(f"SELECT Id FROM User WHERE Username = '{USER['username']}'")["records"]
    assert len(users) == 1 and users[0]["Id"] == outs["user_id"]
    assert outs["adopted"] is False  # it is ours: the lost reply was to our own create


# ---- listMetadata: a refresh lists each group of types once (issue 15's refresh budget) -------------------
GROUP = ("NamedCredential", "ExternalClientApplication")
AIRCALL_NC = {
    "fullName": "Aircall",
    "label": "Aircall",
    "endpoint": "https://api.aircall.io/",
    "principalType": "Anonymous",
    "protocol": "NoAuthentication",
}


def _names(listing: list[dict[str, Any]]) -> set[str]:
    return {str(p["fullName"]) for p in listing}


def test_reused_listings_serve_a_whole_group_with_one_call_and_a_write_forgets_them(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    org.reset_calls()
    assert client.metadata_list("NamedCredential", artifact="t", along=GROUP, reuse=True) == []
    assert client.metadata_list("ExternalClientApplication", artifact="t", along=GROUP, reuse=True) == []
    assert org.calls()["by_operation"]["metadata.listMetadata"] == 1
    client.metadata_create("NamedCredential", [AIRCALL_NC], artifact="NamedCredential Aircall")
    listed = client.metadata_list("NamedCredential", artifact="t", along=GROUP, reuse=True)
    assert _names(listed) == {"Aircall"} and all(p["type"] == "NamedCredential" for p in listed)
    assert org.calls()["by_operation"]["metadata.listMetadata"] == 2
    client.metadata_list("NamedCredential", artifact="t")  # without reuse: always asked afresh
    assert org.calls()["by_operation"]["metadata.listMetadata"] == 3
    client.LISTING_REUSE_SECONDS = 0.0  # a listing kept too long is asked again
    client.metadata_list("NamedCredential", artifact="t", along=GROUP, reuse=True)
    assert org.calls()["by_operation"]["metadata.listMetadata"] == 4


def test_concurrent_readers_of_a_group_share_one_listing(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    client.metadata_list("CustomSite", artifact="warm-up")  # log in and parse the WSDL first
    org.reset_calls()
    results: list[list[dict[str, Any]]] = []
    threads = [
        threading.Thread(
            target=lambda t=t: results.append(client.metadata_list(t, artifact=t, along=GROUP, reuse=True))
        )
        for t in (*GROUP, *GROUP)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert org.calls()["by_operation"]["metadata.listMetadata"] == 1


def test_a_reused_query_answers_again_until_a_rest_write_and_concurrent_askers_share_it(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    soql = f"SELECT Id, LastName FROM User WHERE Username = '{org.username}'"
    client.query(soql, artifact="warm-up")  # log in first
    org.reset_calls()
    results: list[list[dict[str, Any]]] = []
    threads = [
        threading.Thread(target=lambda: results.append(client.query(soql, artifact="t", reuse=True)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and results[0] == results[1] == results[2]
    assert org.calls()["by_operation"]["rest.query"] == 1
    user_id = results[0][0]["Id"]
    client.update_record("User", user_id, {"LastName": "Renamed"}, artifact="t")  # a write forgets it
    assert client.query(soql, artifact="t", reuse=True)[0]["LastName"] == "Renamed"
    client.query(soql, artifact="t")  # without reuse: always asked afresh
    assert org.calls()["by_operation"]["rest.query"] == 3


def test_a_companion_type_the_org_does_not_know_falls_back_to_the_type_asked_for(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    client.metadata_create("NamedCredential", [AIRCALL_NC], artifact="NamedCredential Aircall")
    org.reset_calls()
    along = ("NamedCredential", "NoSuchMetadataType")
    listed = client.metadata_list("NamedCredential", artifact="t", along=along, reuse=True)
    assert _names(listed) == {"Aircall"}
    assert org.calls()["by_operation"]["metadata.listMetadata"] == 2  # the group refused, then alone


# ---- Tooling API executeAnonymous --------------------------------------------------------------------------
def test_execute_anonymous_answers_the_execute_anonymous_result_through_the_chokepoint(org: Any) -> None:
    client = SalesforceClient(settings_for(org))
    result = client.execute_anonymous("System.debug(1);", artifact="probe")
    # The emulator runs only the health probes: anything else is its honest compile problem.
    assert result["compiled"] is False and result["compileProblem"].startswith("Not emulated")
    assert org.calls()["by_operation"]["tooling.executeAnonymous"] == 1


def test_execute_anonymous_refused_without_author_apex_is_one_salesforce_error(org: Any) -> None:
    org.settings(author_apex=False)
    client = SalesforceClient(settings_for(org))
    with pytest.raises(SalesforceError) as err:
        client.execute_anonymous("System.debug(1);", artifact="probe")
    assert err.value.status == 403 and err.value.error_code == "INSUFFICIENT_ACCESS"
    assert org.calls()["by_operation"]["tooling.executeAnonymous"] == 1  # not retried


# ---- credentials travel only where they should (https except loopback; permanent errors at once) ---------
class _Recorder(http.server.BaseHTTPRequestHandler):
    """A plain-http server on loopback answering every request with one canned reply, and counting them."""

    reply: tuple[int, str, str] = (200, "text/html", "<html><body>Welcome to our portal</body></html>")
    seen: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        # Whether the request carried a credential (a bearer header, or a SOAP sessionId in the body).
        carried = "TokenForTheWrongHost" in str(self.headers) + sent.decode(errors="replace")
        self.seen.append(f"{self.command} {self.path}" + (" [token]" if carried else ""))
        status, kind, body = self.reply
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


def _serve(tls_dir: Path | None) -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls_dir is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls_dir / "server.pem", tls_dir / "server.key")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls_dir is not None else "http"
    yield f"{scheme}://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback() -> Iterator[tuple[str, type[_Recorder]]]:
    yield from _serve(None)


@pytest.fixture
def loopback_https(org: Any) -> Iterator[tuple[str, type[_Recorder]]]:
    """An https site on loopback with a certificate caBundle trusts (the emulator's): a wrong instanceUrl."""
    yield from _serve(Path(org.ca_cert).parent)


def test_an_sfdx_auth_url_with_an_http_host_is_refused_before_any_request() -> None:
    settings = connection_settings(
        {"eci-aircall:sfdxAuthUrl": "force://PlatformCLI::RefreshToken5aa1@http://acme.my.salesforce.com"}
    )
    with pytest.raises(ConfigurationError, match="eci-aircall:sfdxAuthUrl names an http:// host") as info:
        SalesforceClient(settings).sf  # noqa: B018
    assert "RefreshToken5aa1" not in str(info.value)


def test_an_http_instance_url_in_a_token_response_is_refused(
    loopback: tuple[str, type[_Recorder]],
) -> None:
    base, handler = loopback
    handler.reply = (
        200,
        "application/json",
        json.dumps({"access_token": "00Dxx!SessionFromLoopback", "instance_url": "http://acme.example.com"}),
    )
    settings = connection_settings({"eci-aircall:sfdxAuthUrl": f"force://PlatformCLI::RefreshToken77@{base}"})
    with pytest.raises(SalesforceError) as info:
        SalesforceClient(settings).sf  # noqa: B018
    assert info.value.error_code == "INSECURE_INSTANCE_URL"
    assert "00Dxx!SessionFromLoopback" not in str(info.value)


def _wrong_host_client(org: Any, base: str) -> SalesforceClient:
    """A client whose instanceUrl points at a host that is not Salesforce (the loopback recorder)."""
    settings = {
        "eci-aircall:instanceUrl": base,
        "eci-aircall:accessToken": "00Dxx!TokenForTheWrongHost",
        "eci-aircall:caBundle": org.ca_cert,
    }
    return SalesforceClient(connection_settings(settings))


def test_a_host_answering_html_fails_at_once_naming_the_key(
    org: Any, loopback_https: tuple[str, type[_Recorder]]
) -> None:
    base, handler = loopback_https
    client = _wrong_host_client(org, base)
    with pytest.raises(SalesforceError) as info:
        client.query("SELECT Id FROM Organization", artifact="Preflight")
    assert info.value.error_code == "NOT_SALESFORCE_API" and not info.value.uncertain_write
    assert "eci-aircall:instanceUrl" in str(info.value) and "later" not in str(info.value)
    assert len(handler.seen) == 1  # not retried: the token went to that host once, not five times


@pytest.mark.parametrize("surface", ["rest", "metadata", "userinfo"])
def test_a_host_answering_a_5xx_page_fails_at_once_naming_the_key(
    org: Any, loopback_https: tuple[str, type[_Recorder]], surface: str
) -> None:
    base, handler = loopback_https
    handler.reply = (503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>")
    client = _wrong_host_client(org, base)
    with pytest.raises(SalesforceError) as info:
        if surface == "rest":
            client.query("SELECT Id FROM Organization", artifact="Preflight")
        elif surface == "metadata":
            client.metadata_list("CustomSite", artifact="Preflight")
        else:
            client.current_user_id()
    assert info.value.error_code == "NOT_SALESFORCE_API" and not info.value.transient
    assert "eci-aircall:instanceUrl" in str(info.value)
    # The token went to that host once, not five times; the only other request is the credential-free
    # look at its versions resource, which a Salesforce org would have answered with JSON.
    assert [r for r in handler.seen if r.endswith("[token]")] == [handler.seen[0]]
    assert handler.seen[1:] in ([], ["GET /services/data/"])


def test_a_login_endpoint_answering_a_5xx_page_fails_at_once(loopback: tuple[str, type[_Recorder]]) -> None:
    base, handler = loopback
    handler.reply = (502, "text/html", "<html><body>Bad Gateway</body></html>")
    settings = connection_settings({"eci-aircall:sfdxAuthUrl": f"force://PlatformCLI::Rt9@{base}"})
    with pytest.raises(SalesforceError) as info:
        SalesforceClient(settings).sf  # noqa: B018
    assert info.value.error_code == "NOT_SALESFORCE_API" and len(handler.seen) == 1


def test_a_login_endpoint_answering_html_fails_at_once_naming_the_key(
    loopback: tuple[str, type[_Recorder]],
) -> None:
    base, handler = loopback
    settings = connection_settings({"eci-aircall:sfdxAuthUrl": f"force://PlatformCLI::Rt9@{base}"})
    with pytest.raises(SalesforceError) as info:
        SalesforceClient(settings).sf  # noqa: B018
    assert info.value.error_code == "NOT_SALESFORCE_API"
    assert "eci-aircall:sfdxAuthUrl" in str(info.value)
    assert len(handler.seen) == 1


def test_a_certificate_failure_fails_at_once_and_is_no_uncertain_write(org: Any) -> None:
    """The emulator's certificate without its CA in caBundle: what a wrong host or an intercepting proxy
    looks like. Not retried, not "the write may have happened", and the message names the keys to fix."""
    client = SalesforceClient(
        connection_settings(
            {"eci-aircall:instanceUrl": org.instance_url, "eci-aircall:accessToken": org.access_token}
        )
    )
    sent: list[str] = []
    original = client.http.send

    def counting(request: Any, **kwargs: Any) -> Any:
        sent.append(str(request.url))
        return original(request, **kwargs)

    client.http.send = counting  # type: ignore[method-assign]
    with pytest.raises(SalesforceError) as info:
        client.create_record("Account", {"Name": "x"}, artifact="Account x")
    err = info.value
    assert err.error_code == "CERTIFICATE_ERROR" and not err.transient and not err.uncertain_write
    assert "eci-aircall:instanceUrl" in str(err) and "eci-aircall:caBundle" in str(err)
    assert len(sent) == 1


def test_ca_bundle_adds_to_the_default_roots(org: Any) -> None:
    import certifi

    from providers.config.keys import CA_BUNDLE
    from salesforce.settings import _ca_bundle_path

    bundle = Path(_ca_bundle_path(org.ca_cert, CA_BUNDLE)).read_text()
    emulator_ca = Path(org.ca_cert).read_text() if "-----BEGIN" not in org.ca_cert else org.ca_cert
    default_roots = Path(certifi.where()).read_text()
    assert emulator_ca.strip() in bundle
    assert default_roots.strip() in bundle  # Salesforce's and api.aircall.io's public roots stay trusted


def test_a_refused_login_keeps_salesforces_reason(org: Any) -> None:
    stale = f"force://PlatformCLI::5Aep861NotARealRefreshToken@{org.instance_url.removeprefix('https://')}"
    settings = connection_settings({"eci-aircall:sfdxAuthUrl": stale, "eci-aircall:caBundle": org.ca_cert})
    with pytest.raises(SalesforceError) as info:
        SalesforceClient(settings).sf  # noqa: B018
    text = str(info.value)
    assert info.value.error_code == "AUTHENTICATION_FAILED"
    assert "invalid_grant: expired access/refresh token" in text  # the emulator's reason, as Salesforce's
    assert "{content}" not in text and "5Aep861NotARealRefreshToken" not in text


# ---- progress: a wait longer than about 2 s says what it waits for ---------------------------------------
def test_a_short_wait_prints_nothing_and_a_long_one_prints_start_and_end_once() -> None:
    import io

    from salesforce.progress import Wait

    now = [0.0]
    out = io.StringIO()

    def sleep(seconds: float) -> None:
        now[0] += seconds

    wait = Wait("AuthProvider ECI_Auth_Provider", "acme.my.salesforce.com", "a deploy", stream=out,
                clock=lambda: now[0], sleep=sleep)  # fmt: skip
    wait.sleep(0.5)
    wait.sleep(1.0)
    assert out.getvalue() == ""
    wait.sleep(1.0)  # past 2 s in all: announced before it sleeps
    wait.sleep(4.0)
    wait.done()
    assert out.getvalue().splitlines() == [
        "AuthProvider ECI_Auth_Provider on acme.my.salesforce.com: waiting for a deploy...",
        "AuthProvider ECI_Auth_Provider on acme.my.salesforce.com: done after 6 s",
    ]
    quiet = Wait("x", "y", "z", stream=out, clock=lambda: now[0], sleep=sleep)
    quiet.sleep(0.1)
    quiet.done()
    assert len(out.getvalue().splitlines()) == 2


def test_a_retry_back_off_past_two_seconds_names_the_step_the_org_and_the_error(
    org: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECI_RETRY_BASE_SECONDS", "1.1")  # back-offs of 1.1 s, then 2.2 s
    org.fault(kind="unable_to_lock_row", operation="rest.query", count=2)
    client = SalesforceClient(settings_for(org))
    assert client.query("SELECT Id FROM Organization", artifact="Organization")
    lines = capsys.readouterr().err.splitlines()
    host = org.instance_url.split("//", 1)[1].split(":", 1)[0]
    assert lines[0] == (
        f"Organization (rest.query) on {host}: waiting for a retry after UNABLE_TO_LOCK_ROW (attempt 2 of "
        f"{RETRY_ATTEMPTS} failed)..."
    )
    assert re.fullmatch(rf"Organization \(rest.query\) on {re.escape(host)}: done after [34] s", lines[1])
    assert len(lines) == 2
