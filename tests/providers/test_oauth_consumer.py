"""OAuthConsumer against the emulator: generated credentials, or an existing app's from Connect REST."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from providers.auth_provider import AuthProviderProvider
from providers.connected_app import ConnectedAppProvider
from providers.external_client_app import ExternalClientAppProvider
from providers.named_credential import NamedCredentialProvider
from providers.oauth_consumer import OAuthConsumerProvider
from salesforce import SalesforceError
from tests.support.driver import Driver, configured
from tests.support.emulator import salesforce_ops
from tests.support.seeds import connected_app_by_hand, external_client_app_by_hand

KEY = "ExistingAppKey0123456789abcdef"
SECRET = "EXISTING-APP-SECRET-a1b2c3d4e5"


@pytest.fixture
def driver(org: Any) -> Driver:
    return Driver(configured(OAuthConsumerProvider(), org))


def test_new_app_gets_generated_credentials_without_any_write(org: Any, driver: Driver) -> None:
    org.reset_calls()
    driver.create(app_name="ECI_Connected_App", app_kind="ConnectedApp")
    assert salesforce_ops(org.calls()) == {"metadata.readMetadata": 1}
    assert org.calls()["writes"] == 0
    assert rpc.is_rpc_secret(driver.outs["consumer_key"]) and rpc.is_rpc_secret(
        driver.outs["consumer_secret"]
    )
    outs = driver.plain()
    assert re.fullmatch(r"[A-Za-z0-9]{64}", outs["consumer_key"])
    assert re.fullmatch(r"[0-9A-F]{64}", outs["consumer_secret"])
    assert outs["adopted"] is False


def test_two_consumers_never_share_credentials(org: Any) -> None:
    first = Driver(configured(OAuthConsumerProvider(), org))
    second = Driver(configured(OAuthConsumerProvider(), org))
    a, b = first.create(app_name="App_A"), second.create(app_name="App_B")
    assert a["consumer_key"] != b["consumer_key"] and a["consumer_secret"] != b["consumer_secret"]


def test_existing_connected_app_credentials_are_read_from_connect_rest(org: Any, driver: Driver) -> None:
    connected_app_by_hand(org, "a@example.com", consumerKey=KEY, consumerSecret=SECRET)
    org.reset_calls()
    outs = driver.create(app_name="ECI_Connected_App", app_kind="ConnectedApp")
    assert (outs["consumer_key"], outs["consumer_secret"], outs["adopted"]) == (KEY, SECRET, True)
    assert salesforce_ops(org.calls()) == {
        "metadata.readMetadata": 1, "connect.oauth_usage": 1, "connect.oauth_credentials": 2,
    }  # fmt: skip
    assert org.calls()["writes"] == 0


def test_existing_external_client_app_credentials_are_read_too(org: Any, driver: Driver) -> None:
    external_client_app_by_hand(org, consumerKey=KEY, consumerSecret=SECRET)
    # The stack config's spelling is accepted as well as the contract's.
    outs = driver.create(app_name="ECI_Connected_App", app_kind="externalClientApp")
    assert (outs["app_kind"], outs["consumer_key"], outs["consumer_secret"]) == (
        "ExternalClientApp",
        KEY,
        SECRET,
    )


def test_existing_app_without_oauth_is_an_error_saying_what_to_do(org: Any, driver: Driver) -> None:
    mdapi = org.mdapi()
    mdapi.ConnectedApp.create(
        mdapi.ConnectedApp(
            fullName="ECI_Connected_App", label="ECI Connected App", contactEmail="a@example.com"
        )
    )
    org.reset_calls()
    with pytest.raises(SalesforceError) as caught:
        driver.create(app_name="ECI_Connected_App", app_kind="ConnectedApp")
    assert "no OAuth consumer" in str(caught.value) and "enable OAuth" in str(caught.value)
    assert org.calls()["writes"] == 0


def test_an_app_of_the_other_kind_does_not_count_as_existing(org: Any, driver: Driver) -> None:
    connected_app_by_hand(org, "a@example.com", consumerKey=KEY, consumerSecret=SECRET)
    outs = driver.create(app_name="ECI_Connected_App", app_kind="ExternalClientApp")
    assert outs["adopted"] is False and outs["consumer_key"] != KEY


def test_same_inputs_diff_to_no_change_and_app_changes_replace(org: Any, driver: Driver) -> None:
    driver.create(app_name="ECI_Connected_App")
    org.reset_calls()
    assert driver.diff(app_name="ECI_Connected_App").changes is False
    assert driver.diff(app_name="Other_App").replaces == ["app_name"]
    assert driver.diff(app_name="ECI_Connected_App", app_kind="ExternalClientApp").replaces == ["app_kind"]
    assert salesforce_ops(org.calls()) == {}


def test_refresh_of_generated_credentials_costs_nothing_and_keeps_them(org: Any, driver: Driver) -> None:
    before = driver.create(app_name="ECI_Connected_App")
    org.reset_calls()
    result = driver.read()
    assert salesforce_ops(org.calls()) == {}
    assert driver.plain()["consumer_secret"] == before["consumer_secret"]
    assert result.inputs == {
        "delete_adopted": False,
        "app_name": "ECI_Connected_App",
        "app_kind": "ConnectedApp",
    }


def test_refresh_of_adopted_credentials_picks_up_a_secret_rotated_in_setup(org: Any, driver: Driver) -> None:
    external_client_app_by_hand(org, consumerKey=KEY, consumerSecret=SECRET)
    driver.create(app_name="ECI_Connected_App", app_kind="ExternalClientApp")
    mdapi = org.mdapi()
    settings = mdapi.ExtlClntAppGlobalOauthSettings.read("ECI_Connected_App_glbloauth")
    settings.shouldRotateConsumerSecret = True
    mdapi.ExtlClntAppGlobalOauthSettings.update(settings)
    org.reset_calls()
    driver.read()
    assert salesforce_ops(org.calls()) == {"connect.oauth_credentials": 1}
    outs = driver.plain()
    assert outs["consumer_key"] == KEY and outs["consumer_secret"] != SECRET


def test_delete_makes_no_call(org: Any, driver: Driver) -> None:
    driver.create(app_name="ECI_Connected_App")
    org.reset_calls()
    driver.delete()
    assert salesforce_ops(org.calls()) == {}


def test_bad_app_name_is_a_check_failure(org: Any) -> None:
    provider = configured(OAuthConsumerProvider(), org)
    result = provider.check({}, {"__provider": "p", "app_name": "ECI Connected App", "app_kind": "Canvas"})
    assert sorted(f.property for f in result.failures) == ["app_kind", "app_name"]


@pytest.mark.parametrize(
    "factory",
    [
        OAuthConsumerProvider,
        AuthProviderProvider,
        ConnectedAppProvider,
        ExternalClientAppProvider,
        NamedCredentialProvider,
    ],
)
def test_pickled_provider_holds_no_connection_secret(org: Any, factory: Any) -> None:
    # The dynamic provider is pickled into state with dill; the connection arrives in configure() afterwards.
    provider = factory()
    driver = Driver(configured(provider, org))
    driver.provider.client.sf  # noqa: B018 - connected: whatever could leak into the pickle now exists
    pickled = base64.b64decode(serialize_provider(provider))
    assert org.access_token.encode() not in pickled
    assert provider._settings is not None  # configured, yet not pickled
