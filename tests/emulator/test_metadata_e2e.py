"""Metadata API and Connect REST over the emulator's HTTPS server, through sf.mdapi and sf.restful.

Note for clients: simple-salesforce's ``sf.mdapi`` talks through its own zeep transport, whose
requests.Session is not ``sf.session``; it must be told to trust the emulator's CA separately (what
``_mdapi`` below does), exactly as a provider must for a private CA.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
import zeep.exceptions

from devtools.sf_emulator.client import EmulatorHandle


def _mdapi(handle: EmulatorHandle, session_id: str | None = None) -> Any:
    sf = handle.sf(session_id=session_id)
    mdapi = sf.mdapi
    mdapi._client.transport.session.verify = handle.ca_cert
    mdapi._client.transport.session.trust_env = False
    return sf, mdapi


def _connected_app(mdapi: Any, name: str = "ECI_Connected_App", **oauth: Any) -> Any:
    return mdapi.ConnectedApp(
        fullName=name,
        label="ECI Connected App",
        contactEmail="admin@example.com",
        oauthConfig=mdapi.ConnectedAppOauthConfig(
            callbackUrl="https://127.0.0.1/services/authcallback/ECI_Auth_Provider",
            scopes=["Api", "Web"],
            **oauth,
        ),
    )


def test_connected_app_round_trips_over_https_and_soql_sees_it(org: EmulatorHandle) -> None:
    sf, mdapi = _mdapi(org)
    mdapi.ConnectedApp.create([_connected_app(mdapi, consumerKey="3MVG9.e2e", consumerSecret="e2e-secret")])
    app = mdapi.ConnectedApp.read(["ECI_Connected_App"])
    assert (app.oauthConfig.consumerKey, app.oauthConfig.consumerSecret) == ("3MVG9.e2e", None)
    rows = sf.query("SELECT Id, Name FROM ConnectedApplication WHERE Name = 'ECI Connected App'")["records"]
    assert len(rows) == 1
    listing = sf.restful(f"apps/oauth/credentials/{rows[0]['Id']}")
    consumer_id = listing["consumers"][0]["id"]
    creds = sf.restful(
        f"apps/oauth/credentials/{rows[0]['Id']}/{consumer_id}", params={"part": "keyandsecret"}
    )
    assert (creds["key"], creds["secret"]) == ("3MVG9.e2e", "e2e-secret")


def test_site_guest_user_is_visible_through_soql(org: EmulatorHandle) -> None:
    sf, mdapi = _mdapi(org)
    site = mdapi.CustomSite(
        fullName="VoiceConnector", masterLabel="VoiceConnector", active=True, allowHomePage=False,
        allowStandardIdeasPages=False, allowStandardLookups=False, allowStandardPortalPages=False,
        allowStandardSearch=False, browserXssProtection=True, clickjackProtectionLevel="SameOriginOnly",
        contentSniffingProtection=True, indexPage="SiteLogin", referrerPolicyOriginWhenCrossOrigin=True,
        siteType="Visualforce", siteAdmin=org.username, siteGuestRecordDefaultOwner=org.username,
    )  # fmt: skip
    mdapi.CustomSite.create([site])
    guest_id = sf.query("SELECT GuestUserId FROM Site WHERE Name = 'VoiceConnector'")["records"][0][
        "GuestUserId"
    ]
    user = sf.query(f"SELECT Id, IsActive, UserType, Profile.Name FROM User WHERE Id = '{guest_id}'")[
        "records"
    ][0]
    assert (user["UserType"], user["IsActive"], user["Profile"]["Name"]) == (
        "Guest",
        True,
        "VoiceConnector Profile",
    )


def test_metadata_calls_are_counted_by_operation_and_writes(org: EmulatorHandle) -> None:
    _, mdapi = _mdapi(org)
    org.reset_calls()
    mdapi.ConnectedApp.create([_connected_app(mdapi)])
    mdapi.ConnectedApp.read(["ECI_Connected_App"])
    calls = org.calls()
    assert calls["by_operation"]["metadata.createMetadata"] == 1
    assert calls["by_operation"]["metadata.readMetadata"] == 1
    assert calls["writes_by_operation"].get("metadata.createMetadata", 0) == 1
    assert "metadata.readMetadata" not in calls["writes_by_operation"]


def test_a_bad_session_gets_the_metadata_invalid_session_fault(org: EmulatorHandle) -> None:
    _, mdapi = _mdapi(org, session_id="00D000000000000!bogus")
    with pytest.raises(zeep.exceptions.Fault) as raised:
        mdapi.ConnectedApp.read(["ECI_Connected_App"])
    assert raised.value.code == "sf:INVALID_SESSION_ID"
    assert raised.value.message.startswith("INVALID_SESSION_ID: Invalid Session ID found in SessionHeader")


def test_named_credential_authorize_control_reaches_the_metadata_rules(org: EmulatorHandle) -> None:
    _, mdapi = _mdapi(org)
    mdapi.AuthProvider.create(
        [
            mdapi.AuthProvider(
                fullName="ECI_Auth_Provider", friendlyName="ECI Auth Provider", providerType="Salesforce"
            )
        ]
    )
    mdapi.NamedCredential.create(
        [
            mdapi.NamedCredential(
                fullName="ECI_Named_Credential", label="ECI Named Credential",
                endpoint=org.instance_url + "/", principalType="NamedUser", protocol="Oauth",
                authProvider="ECI_Auth_Provider",
            )
        ]
    )  # fmt: skip
    org.authorize_named_credential("ECI_Named_Credential")
    with pytest.raises(RuntimeError):
        org.authorize_named_credential("No_Such_Credential")


def test_metadata_read_round_trip_is_under_20_ms(org: EmulatorHandle) -> None:
    _, mdapi = _mdapi(org)
    mdapi.ConnectedApp.create([_connected_app(mdapi)])
    mdapi.ConnectedApp.read(["ECI_Connected_App"])  # connection set up, TLS session established
    samples = []
    for _ in range(25):
        started = time.perf_counter()
        assert mdapi.ConnectedApp.read(["ECI_Connected_App"]).fullName == "ECI_Connected_App"
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    print(f"metadata read round trip: median {median:.1f} ms, max {max(samples):.1f} ms")
    assert median < 20, samples


def test_first_metadata_call_on_a_fresh_emulator_does_not_wait_long_for_the_wsdl(
    fresh_emulator: EmulatorHandle,
) -> None:
    # The WSDL loads in a background thread once the server is up, so neither start-up nor the first Metadata
    # call pays for it in full (the bound is loose: CI shares two cores between several test processes).
    _, mdapi = _mdapi(fresh_emulator)
    started = time.perf_counter()
    mdapi.ConnectedApp.read(["Nothing"])
    first_call = time.perf_counter() - started
    startup_ms = fresh_emulator.startup_seconds * 1000
    print(f"emulator start-up {startup_ms:.0f} ms, first metadata call {first_call * 1000:.0f} ms")
    assert first_call < 5.0


def test_concurrent_metadata_clients_do_not_interfere(org: EmulatorHandle) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _, mdapi = _mdapi(org)  # one client (one WSDL parse), four threads hitting the server at once

    def worker(n: int) -> list[str | None]:
        mdapi.ConnectedApp.create([_connected_app(mdapi, f"Parallel_{n}")])
        return [mdapi.ConnectedApp.read([f"Parallel_{n}"]).fullName for _ in range(5)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(worker, range(4)))
    assert results == [[f"Parallel_{n}"] * 5 for n in range(4)]
