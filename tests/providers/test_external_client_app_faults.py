"""A small fault matrix over the metadata providers (issue 7 runs the full one through the engine).

Every transient kind takes the same retry path in the chokepoint (its own tests cover each kind), so here each
step of each artifact meets a 503, and create also a reply lost after the commit and an expired (renewable)
session: each ends in success with exactly one artifact of ours, and a second run writes nothing. The daily
limit and an expired plain access token fail saying what to do, with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from providers.auth_provider import AuthProviderProvider
from providers.connected_app import ConnectedAppProvider
from providers.external_client_app import ExternalClientAppProvider
from providers.kit import ArtifactProvider
from providers.named_credential import NamedCredentialProvider
from providers.oauth_consumer import OAuthConsumerProvider
from salesforce import SalesforceError
from tests.support.artifact_inputs import aircall, oauth_app
from tests.support.driver import Driver, configured, sfdx_configured

Inputs = Callable[[Any], dict[str, Any]]
KEYS = {"consumer_key": "k" * 20, "consumer_secret": "s" * 20}

# artifact → (provider, inputs, changed inputs, (Metadata type, fullName) that is counted)
ARTIFACTS: dict[str, tuple[Callable[[], ArtifactProvider], Inputs, Inputs, tuple[str, str]]] = {
    "auth_provider": (
        AuthProviderProvider,
        lambda org: dict(KEYS),
        lambda org: {**KEYS, "friendly_name": "ECI Auth Provider 2"},
        ("AuthProvider", "ECI_Auth_Provider"),
    ),
    "named_credential": (
        NamedCredentialProvider,
        lambda org: aircall(),
        lambda org: aircall(label="Aircall 2"),
        ("NamedCredential", "Aircall"),
    ),
    "connected_app": (
        ConnectedAppProvider,
        lambda org: oauth_app(org, **KEYS),
        lambda org: oauth_app(org, **KEYS, contact_email="ops@example.com"),
        ("ConnectedApp", "ECI_Connected_App"),
    ),
    "external_client_app": (
        ExternalClientAppProvider,
        lambda org: oauth_app(org, **KEYS),
        lambda org: oauth_app(org, **KEYS, contact_email="ops@example.com", scopes=["Api"]),
        ("ExternalClientApplication", "ECI_Connected_App"),
    ),
}
OPERATION = {
    "create": "metadata.createMetadata",
    "update": "metadata.updateMetadata",
    "delete": "metadata.deleteMetadata",
    "read": "metadata.readMetadata",
}
CASES = [(a, "create", f) for a in ARTIFACTS for f in ("http_503", "reply_lost", "invalid_session_id")] + [
    (a, step, "http_503") for a in ARTIFACTS for step in ("update", "delete", "read")
]


def count(org: Any, type_name: str, full_name: str) -> int:
    mdapi = org.mdapi()
    listed = mdapi.list_metadata([mdapi.ListMetadataQuery(type=type_name)]) or []
    return len([p for p in listed if p.fullName == full_name])


@pytest.mark.parametrize(("artifact", "step", "fault"), CASES)
def test_transient_fault_is_absorbed_and_converges(org: Any, artifact: str, step: str, fault: str) -> None:
    factory, inputs, changed, (type_name, full_name) = ARTIFACTS[artifact]
    driver = Driver(sfdx_configured(factory(), org))
    if step != "create":
        driver.create(**inputs(org))
    org.fault(kind=fault, operation=OPERATION[step], count=1)
    if step == "create":
        assert driver.create(**inputs(org))["adopted"] is False
        assert count(org, type_name, full_name) == 1
    elif step == "update":
        driver.update(**changed(org))
        assert count(org, type_name, full_name) == 1
    elif step == "delete":
        driver.delete()
        assert count(org, type_name, full_name) == 0
    else:
        assert driver.read().id == driver.id
    org.clear_faults()
    if step in ("create", "update"):
        wanted = changed(org) if step == "update" else inputs(org)
        assert driver.diff(**wanted).changes is False
        org.reset_calls()
        driver.update(**wanted)
        assert org.calls()["writes"] == 0


def plain_driver(org: Any, artifact: str) -> tuple[Driver, dict[str, Any]]:
    if artifact == "oauth_consumer":
        return Driver(configured(OAuthConsumerProvider(), org)), {"app_name": "ECI_Connected_App"}
    factory, inputs, _changed, _counted = ARTIFACTS[artifact]
    return Driver(configured(factory(), org)), inputs(org)


@pytest.mark.parametrize("artifact", [*ARTIFACTS, "oauth_consumer"])
def test_daily_limit_fails_saying_so_with_nothing_written(org: Any, artifact: str) -> None:
    driver, inputs = plain_driver(org, artifact)
    org.fault(kind="request_limit_exceeded", operation="*", count=50)
    with pytest.raises(SalesforceError) as caught:
        driver.create(**inputs)
    org.clear_faults()
    assert "daily API request limit" in str(caught.value)
    assert org.calls()["writes"] == 0


@pytest.mark.parametrize("artifact", [*ARTIFACTS, "oauth_consumer"])
def test_expired_access_token_says_how_to_get_a_new_one(org: Any, artifact: str) -> None:
    driver, inputs = plain_driver(org, artifact)
    org.fault(kind="invalid_session_id", operation="*", count=50)
    with pytest.raises(SalesforceError) as caught:
        driver.create(**inputs)
    org.clear_faults()
    assert "pulumi config set --secret eci-aircall:accessToken" in str(caught.value)
    assert org.access_token not in str(caught.value)
