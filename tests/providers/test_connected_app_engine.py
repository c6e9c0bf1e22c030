"""The OAuth chain through the real pulumi CLI: OAuthConsumer → AuthProvider → ConnectedApp, plus both named
credentials — the guide's cycle (app → key/secret → auth provider → callback URL → app) in one `up`."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from tests.support.artifact_inputs import AIRCALL_TOKEN, oauth_chain
from tests.support.emulator import salesforce_ops
from tests.support.resource_program import Stack, changed_ops, resource_outputs
from tests.support.seeds import auth_provider_by_hand, connected_app_by_hand, consumer_credentials


def test_chain_lifecycle_wires_the_callback_url_without_any_dummy(org: Any, tmp_path: Path) -> None:
    stack = Stack(org, tmp_path)
    stack.resources = oauth_chain(org)
    stack.secrets = {"aircallToken": AIRCALL_TOKEN}

    org.reset_calls()
    stack.up()
    calls = org.calls()
    mdapi = org.mdapi()
    app = mdapi.ConnectedApp.read("ECI_Connected_App")
    provider = mdapi.AuthProvider.read("ECI_Auth_Provider")
    state = stack.export()
    auth_outs = resource_outputs(state, "auth")
    assert app.oauthConfig.callbackUrl == auth_outs["callback_url"]
    assert auth_outs["callback_url"] == f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    assert app.oauthConfig.consumerKey == provider.consumerKey
    nc = mdapi.NamedCredential.read("ECI_Named_Credential")
    assert (nc.authProvider, nc.protocol) == ("ECI_Auth_Provider", "Oauth")
    assert resource_outputs(state, "eci")["authorize_url"].startswith(
        f"{org.instance_url}/lightning/setup/NamedCredential/"
    )
    # Each artifact written once: nothing is created with a placeholder and patched afterwards.
    assert calls["writes_by_operation"] == {"metadata.createMetadata": 4}
    assert "metadata.updateMetadata" not in salesforce_ops(calls)

    # Secrets stay out of the state in plain text (the engine encrypts what is marked secret).
    assert AIRCALL_TOKEN not in json.dumps(state)
    assert json.dumps(resource_outputs(state, "consumer")["consumer_secret"]).count("ciphertext") == 1

    org.reset_calls()
    stack.up(expect_no_changes=True)
    assert salesforce_ops(org.calls()) == {}

    # Admin edits in Setup: the app's contact email and the Aircall endpoint.
    app.contactEmail = "edited@example.com"
    app.oauthConfig.consumerKey = None
    mdapi.ConnectedApp.update(app)
    aircall = mdapi.NamedCredential.read("Aircall")
    aircall.endpoint = "https://evil.example/"
    mdapi.NamedCredential.update(aircall)
    org.reset_calls()
    refreshed = stack.refresh()
    # one read per artifact + one listMetadata per group of types (still the ones this stack made?
    # ConnectedApp + AuthProvider, then both NamedCredentials: each provider's listing_group); the
    # OAuthConsumer's generated credentials need none
    assert salesforce_ops(org.calls()) == {"metadata.readMetadata": 4, "metadata.listMetadata": 2}
    steps = refreshed.steps_by_name()
    # The CLI lists the refreshed inputs against the old ones (display/rows.go getDiffInfo). A write-only
    # value that did not change is not among them: refresh returns it as the outputs kept it (encrypted),
    # where Salesforce cannot read it back (ProviderBase.refreshed_inputs).
    app_diff, aircall_diff = set(steps["app"]["inputDiff"]), set(steps["aircall"]["inputDiff"])
    assert "contact_email" in app_diff and not {"consumer_secret", "consumer_secret_hash"} & app_diff
    assert "endpoint" in aircall_diff and not {"password", "password_hash", "contact_email"} & aircall_diff
    assert changed_ops(stack.preview()) == {"app": "update", "aircall": "update"}
    stack.up()
    assert mdapi.ConnectedApp.read("ECI_Connected_App").contactEmail == "admin@example.com"
    assert mdapi.NamedCredential.read("Aircall").endpoint == "https://api.aircall.io/"
    stack.preview(expect_no_changes=True)
    # After create, refresh and update, the consumer secret (as Connect REST hands it to an admin) and the
    # Aircall token appear nowhere in the state in plain text, nor base64-encoded.
    secret = consumer_credentials(org)["secret"]
    state_text = json.dumps(stack.export())
    for value in (secret, AIRCALL_TOKEN):
        assert value not in state_text and base64.b64encode(value.encode()).decode() not in state_text

    org.reset_calls()
    stack.destroy()
    assert org.calls()["writes_by_operation"] == {"metadata.deleteMetadata": 4}
    gone = (("ConnectedApp", "ECI_Connected_App"), ("AuthProvider", "ECI_Auth_Provider"),
            ("NamedCredential", "Aircall"), ("NamedCredential", "ECI_Named_Credential"))  # fmt: skip
    for type_name, name in gone:
        assert getattr(mdapi, type_name).read(name).fullName is None


def test_existing_shared_app_and_provider_are_adopted_and_left_on_destroy(org: Any, tmp_path: Path) -> None:
    # Another voice connector configured ECI before: the app (with its own key) and the auth provider exist.
    mdapi = org.mdapi()
    first = {"consumerKey": "FirstConnectorKey0001", "consumerSecret": "FIRSTCONNECTORSECRET01"}
    connected_app_by_hand(
        org, "first@example.com", callbackUrl=f"{org.instance_url}/services/authcallback/ECI_Auth_Provider",
        scopes=["Api", "Web", "RefreshToken", "Content"], **first,
    )  # fmt: skip
    auth_provider_by_hand(org, friendlyName="ECI Auth Provider", **first)
    stack = Stack(org, tmp_path)
    stack.resources = oauth_chain(org)[:3]
    for resource in stack.resources[1:]:  # the opt-in that sharedEci adopt gives them
        resource["inputs"]["adopt_existing"] = True
    stack.up()
    state = stack.export()
    # The existing app keeps its key; the auth provider is set to the same one (read from Connect REST).
    assert resource_outputs(state, "consumer")["adopted"] is True
    assert mdapi.ConnectedApp.read("ECI_Connected_App").oauthConfig.consumerKey == "FirstConnectorKey0001"
    assert mdapi.AuthProvider.read("ECI_Auth_Provider").consumerKey == "FirstConnectorKey0001"
    assert resource_outputs(state, "app")["adopted"] is True
    assert resource_outputs(state, "auth")["adopted"] is True
    stack.up(expect_no_changes=True)
    stack.destroy()
    assert mdapi.ConnectedApp.read("ECI_Connected_App").fullName == "ECI_Connected_App"
    assert mdapi.AuthProvider.read("ECI_Auth_Provider").fullName == "ECI_Auth_Provider"
