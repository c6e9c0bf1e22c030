"""ConnectedApp against the emulator: provider methods called the way the engine calls them."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from providers.connected_app import ConnectedAppProvider
from providers.kit import secret_matches
from salesforce import SalesforceError
from tests.support.artifact_inputs import oauth_app
from tests.support.driver import Driver, configured
from tests.support.emulator import salesforce_ops
from tests.support.kept_secrets import kept_secret
from tests.support.seeds import connected_app_by_hand, consumer_credentials

KEY = "ConnectedAppTestKey0123456789abcdefABCDEF"
SECRET = "CONNECTED-APP-TEST-SECRET-0c9d8e7f"


def inputs(org: Any, **overrides: Any) -> dict[str, Any]:
    return {**oauth_app(org, consumer_key=KEY, consumer_secret=SECRET), **overrides}


@pytest.fixture
def driver(org: Any) -> Driver:
    return Driver(configured(ConnectedAppProvider(), org))


def read_md(org: Any, name: str = "ECI_Connected_App") -> Any:
    return org.mdapi().ConnectedApp.read(name)


def test_create_configures_the_app_as_the_guide_says(org: Any, driver: Driver) -> None:
    org.reset_calls()
    outs = driver.create(**inputs(org))
    calls = org.calls()
    app = read_md(org)
    oauth, policy = app.oauthConfig, app.oauthPolicy
    assert (app.label, app.contactEmail) == ("ECI Connected App", "admin@example.com")
    assert oauth.callbackUrl == f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    assert sorted(oauth.scopes) == ["Api", "Content", "RefreshToken", "Web"]
    assert (oauth.isConsumerSecretOptional, oauth.isSecretRequiredForRefreshToken) == (False, True)
    assert oauth.isAdminApproved is True
    assert (policy.ipRelaxation, policy.refreshTokenPolicy) == ("BYPASS", "specific_lifetime:365:DAYS")
    assert sorted(app.profileName) == ["Standard User", "System Administrator"]
    assert consumer_credentials(org) == {"key": KEY, "secret": SECRET}
    assert (outs["app_name"], outs["adopted"]) == ("ECI_Connected_App", False)
    assert secret_matches(SECRET, outs["consumer_secret_hash"])
    assert kept_secret(driver.outs["consumer_secret"]) == SECRET
    # profile check (SOQL) + find (readMetadata) + createMetadata + listMetadata (the app's identity)
    assert salesforce_ops(calls) == {
        "rest.query": 1,
        "metadata.readMetadata": 1,
        "metadata.createMetadata": 1,
        "metadata.listMetadata": 1,
    }
    assert calls["writes"] == 1


def test_existing_app_is_adopted_and_its_key_is_never_sent(org: Any, driver: Driver) -> None:
    connected_app_by_hand(
        org, callbackUrl="https://dummy_url/services/authcallback/x", consumerKey=KEY, consumerSecret=SECRET
    )
    sent: list[dict[str, Any]] = []
    client = driver.provider.client
    original = client.metadata_update

    def spy(type_name: str, records: Any, *, artifact: str) -> None:
        sent.extend(records)
        original(type_name, records, artifact=artifact)

    client.metadata_update = spy  # type: ignore[method-assign]
    outs = driver.create(**inputs(org), adopt_existing=True)
    assert outs["adopted"] is True
    assert sent and all("consumerKey" not in r.get("oauthConfig", {}) for r in sent)
    assert all("consumerSecret" not in r.get("oauthConfig", {}) for r in sent)
    app = read_md(org)
    assert app.contactEmail == "admin@example.com" and sorted(app.oauthConfig.scopes) == [
        "Api", "Content", "RefreshToken", "Web",
    ]  # fmt: skip
    assert app.oauthConfig.consumerKey == KEY
    rows = org.sf().query("SELECT Id FROM ConnectedApplication WHERE Name = 'ECI Connected App'")["records"]
    assert len(rows) == 1
    driver.delete()
    assert read_md(org).fullName == "ECI_Connected_App"


def test_same_inputs_diff_to_no_change_without_any_call(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    org.reset_calls()
    # Scopes/profiles in another order are the same set.
    result = driver.diff(**inputs(org, scopes=["Web", "Api", "RefreshToken", "Content"]))
    assert result.changes is False
    assert org.calls()["total"] == 0


@pytest.mark.parametrize(
    ("field", "value", "observe"),
    [
        ("label", "ECI Connected App 2", lambda a: a.label),
        ("contact_email", "ops@example.com", lambda a: a.contactEmail),
        ("callback_url", "https://example.com/services/authcallback/X", lambda a: a.oauthConfig.callbackUrl),
        ("scopes", ["Api", "RefreshToken"], lambda a: sorted(a.oauthConfig.scopes)),
        ("profiles", ["System Administrator"], lambda a: sorted(a.profileName)),
        ("require_secret_for_web_server_flow", False, lambda a: not a.oauthConfig.isConsumerSecretOptional),
        ("require_secret_for_refresh_token_flow", False,
         lambda a: a.oauthConfig.isSecretRequiredForRefreshToken),
        ("permitted_users", "AllSelfAuthorized",
         lambda a: "AdminApprovedPreAuthorized" if a.oauthConfig.isAdminApproved else "AllSelfAuthorized"),
        ("ip_relaxation", "Enforce", lambda a: a.oauthPolicy.ipRelaxation.title()),
        ("refresh_token_validity_days", 30, lambda a: int(a.oauthPolicy.refreshTokenPolicy.split(":")[1])),
    ],
)  # fmt: skip
def test_in_place_update_of(org: Any, driver: Driver, field: str, value: Any, observe: Any) -> None:
    driver.create(**inputs(org))
    result = driver.diff(**inputs(org, **{field: value}))
    assert result.changes is True and result.replaces == []
    outs = driver.update(**inputs(org, **{field: value}))
    assert observe(read_md(org)) == value
    assert outs[field] == value
    assert read_md(org).oauthConfig.consumerKey == KEY
    assert driver.diff(**inputs(org, **{field: value})).changes is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", "ECI_Connected_App2"),
        ("consumer_key", "AnotherKey0123456789"),
        ("consumer_secret", "OTHER-SECRET-1"),
    ],
)
def test_replace_is_required_for(org: Any, driver: Driver, field: str, value: str) -> None:
    driver.create(**inputs(org))
    result = driver.diff(**inputs(org, **{field: value}))
    assert result.replaces == [field] and result.delete_before_replace is True


def test_refresh_shows_an_admin_edit_and_update_restores_it(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    mdapi = org.mdapi()
    app = read_md(org)
    app.contactEmail = "changed-in-setup@example.com"
    app.oauthPolicy.ipRelaxation = "ENFORCE"
    app.oauthConfig.consumerKey = None
    mdapi.ConnectedApp.update(app)
    org.reset_calls()
    result = driver.read()
    assert org.calls()["total"] == 2  # readMetadata + listMetadata (still the app this stack made?)
    assert result.inputs["contact_email"] == "changed-in-setup@example.com"
    assert result.inputs["ip_relaxation"] == "Enforce"
    assert result.inputs["consumer_key"] == KEY and kept_secret(result.inputs["consumer_secret"]) == SECRET
    assert result.outs["write_only_fields"] == ["consumer_secret"]
    assert driver.diff(**inputs(org)).replaces == []
    driver.update(**inputs(org))
    app = read_md(org)
    assert (app.contactEmail, app.oauthPolicy.ipRelaxation) == ("admin@example.com", "BYPASS")
    assert driver.diff(**inputs(org)).changes is False


def test_delete_removes_the_app_and_a_second_delete_is_fine(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    driver.delete()
    assert not org.sf().query("SELECT Id FROM ConnectedApplication WHERE Name = 'ECI Connected App'")[
        "records"
    ]
    driver.delete()


def test_misspelled_scope_is_a_check_failure_with_no_call(org: Any) -> None:
    provider = configured(ConnectedAppProvider(), org)
    org.reset_calls()
    result = provider.check({}, {"__provider": "p", **inputs(org, scopes=["Api", "RefreshTokn"])})
    assert [f.property for f in result.failures] == ["scopes"]
    assert org.calls()["total"] == 0


@pytest.mark.parametrize(
    ("bad", "prop"),
    [({"contact_email": "not-an-email"}, "contact_email"), ({"callback_url": "dummy_url"}, "callback_url"),
     ({"full_name": "ECI Connected App"}, "full_name"), ({"ip_relaxation": "Relax"}, "ip_relaxation")],
)  # fmt: skip
def test_bad_input_is_a_check_failure_naming_the_property(org: Any, bad: dict[str, Any], prop: str) -> None:
    provider = configured(ConnectedAppProvider(), org)
    result = provider.check({}, {"__provider": "p", **inputs(org, **bad)})
    assert [f.property for f in result.failures] == [prop]
    assert SECRET not in " ".join(f.reason for f in result.failures)


def test_unknown_profile_fails_before_any_write(org: Any, driver: Driver) -> None:
    org.reset_calls()
    with pytest.raises(SalesforceError) as caught:
        driver.create(**inputs(org, profiles=["System Administrator", "Sales Wizard"]))
    assert "Sales Wizard" in str(caught.value) and "connectedAppProfiles" in str(caught.value)
    assert org.calls()["writes"] == 0


def test_blocked_org_says_so_and_names_the_switch_to_an_external_client_app(org: Any, driver: Driver) -> None:
    org.settings(connected_app_creation_allowed=False)
    org.reset_calls()
    with pytest.raises(SalesforceError) as caught:
        driver.create(**inputs(org))
    text = str(caught.value)
    assert "does not allow creating new connected apps" in text
    assert "pulumi config set eci-aircall:oauthAppKind externalClientApp" in text
    assert SECRET not in text
    assert org.calls()["writes"] == 0


def test_blocked_org_still_adopts_an_existing_app(org: Any, driver: Driver) -> None:
    connected_app_by_hand(org, consumerKey=KEY, consumerSecret=SECRET)
    org.settings(connected_app_creation_allowed=False)
    outs = driver.create(**inputs(org), adopt_existing=True)
    assert outs["adopted"] is True and read_md(org).contactEmail == "admin@example.com"


def test_reply_lost_after_the_app_was_saved_converges_to_one_app_of_ours(org: Any, driver: Driver) -> None:
    org.fault(kind="reply_lost", operation="metadata.createMetadata", name="ECI_Connected_App", count=1)
    outs = driver.create(**inputs(org))
    assert outs["adopted"] is False
    rows = org.sf().query("SELECT Id FROM ConnectedApplication WHERE Name = 'ECI Connected App'")["records"]
    assert len(rows) == 1
    assert consumer_credentials(org) == {"key": KEY, "secret": SECRET}


def test_a_refresh_policy_outside_the_guide_shows_as_drift_and_is_restored(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    app = read_md(org)
    app.oauthPolicy.refreshTokenPolicy = "infinite"  # Setup: "Refresh token is valid until revoked"
    app.oauthConfig.consumerKey = None
    org.mdapi().ConnectedApp.update(app)
    result = driver.read()
    assert result.inputs["refresh_token_validity_days"] == "infinite"
    assert driver.diff(**inputs(org)).changes is True
    driver.update(**inputs(org))
    assert read_md(org).oauthPolicy.refreshTokenPolicy == "specific_lifetime:365:DAYS"


def test_existing_app_with_another_key_is_not_silently_adopted(org: Any, driver: Driver) -> None:
    connected_app_by_hand(org, consumerKey="SomeoneElsesKey0001", consumerSecret=SECRET)
    org.reset_calls()
    with pytest.raises(SalesforceError) as caught:
        driver.create(**inputs(org))
    assert "another consumer key" in str(caught.value) and "pulumi up --replace" in str(caught.value)
    assert org.calls()["writes"] == 0


def test_refresh_never_logs_the_apps_consumer_key(org: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The consumer key is a secret output; a refresh in a fresh provider process reads it back (readMetadata)
    before anything has registered it as a secret, and zeep logs every SOAP envelope at DEBUG."""
    key = "RefreshOnlyConsumerKey7a6b5c4d3e2f1a0b"  # never seen by this process's secret registry
    connected_app_by_hand(
        org, callbackUrl="https://dummy_url/services/authcallback/x", consumerKey=key, consumerSecret=SECRET
    )
    driver = Driver(configured(ConnectedAppProvider(), org))
    driver.id, driver.outs = "ECI_Connected_App", {"full_name": "ECI_Connected_App"}
    caplog.set_level(logging.DEBUG)  # zeep.transports logs each envelope
    result = driver.read()
    assert result.id == "ECI_Connected_App"
    records = [r.getMessage() for r in caplog.records]
    assert any("readMetadata" in m or "consumerKey" in m for m in records)  # the envelopes were logged
    assert [m for m in records if key in m] == []
