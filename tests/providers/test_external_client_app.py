"""ExternalClientApp (four Metadata components as one resource) against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from providers.external_client_app import ExternalClientAppProvider
from providers.kit import secret_matches
from salesforce import SalesforceError
from tests.support.artifact_inputs import oauth_app
from tests.support.driver import Driver, configured
from tests.support.emulator import salesforce_ops
from tests.support.kept_secrets import kept_secret
from tests.support.seeds import external_client_app_by_hand

KEY = "EcaTestKey0123456789abcdefABCDEF"
SECRET = "ECA-TEST-SECRET-9f8e7d6c5b4a"
APP = "ECI_Connected_App"
TYPES = {
    "app": ("ExternalClientApplication", APP),
    "oauth": ("ExtlClntAppOauthSettings", f"{APP}_oauth"),
    "global": ("ExtlClntAppGlobalOauthSettings", f"{APP}_glbloauth"),
    "policies": ("ExtlClntAppOauthConfigurablePolicies", f"{APP}_oauthPlcy"),
}


def inputs(org: Any, **overrides: Any) -> dict[str, Any]:
    return {**oauth_app(org, consumer_key=KEY, consumer_secret=SECRET), **overrides}


@pytest.fixture
def driver(org: Any) -> Driver:
    return Driver(configured(ExternalClientAppProvider(), org))


def read_md(org: Any, part: str) -> Any:
    type_name, name = TYPES[part]
    result = getattr(org.mdapi(), type_name).read(name)
    return result if result is not None and result.fullName else None


def test_create_makes_the_four_components_with_the_guide_settings(org: Any, driver: Driver) -> None:
    org.settings(connected_app_creation_allowed=False)  # the org this path is for
    org.reset_calls()
    outs = driver.create(**inputs(org))
    # + listMetadata of ExternalClientApplication: the app's identity (id, createdDate, createdById)
    assert salesforce_ops(org.calls()) == {
        "rest.query": 1, "metadata.readMetadata": 1, "metadata.createMetadata": 4, "metadata.listMetadata": 1
    }  # fmt: skip
    app, oauth, glbl, policies = (read_md(org, p) for p in ("app", "oauth", "global", "policies"))
    assert (app.label, app.contactEmail) == ("ECI Connected App", "admin@example.com")
    assert oauth.externalClientApplication == APP
    assert sorted(s.strip() for s in oauth.commaSeparatedOauthScopes.split(",")) == [
        "Api", "Content", "RefreshToken", "Web",
    ]  # fmt: skip
    assert glbl.callbackUrl == f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    assert (glbl.consumerKey, glbl.consumerSecret) == (KEY, None)  # the secret is write-only
    assert (glbl.isConsumerSecretOptional, glbl.isSecretRequiredForRefreshToken) == (False, True)
    assert (policies.permittedUsersPolicyType, policies.ipRelaxationPolicyType) == (
        "AdminApprovedPreAuthorized", "Bypass",
    )  # fmt: skip
    assert policies.commaSeparatedProfile == "Standard User, System Administrator"
    assert (policies.refreshTokenPolicyType, policies.refreshTokenValidityPeriod) == ("SpecificLifetime", 365)
    assert policies.refreshTokenValidityUnit == "Days"
    assert (outs["app_name"], outs["adopted"]) == (APP, False)
    assert secret_matches(SECRET, outs["consumer_secret_hash"])


def test_the_secret_we_set_is_what_connect_rest_hands_out(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    sf = org.sf()
    app = next(a for a in sf.restful("apps/oauth/usage")["apps"] if a["developerName"] == APP)
    consumer = sf.restful(f"apps/oauth/credentials/{app['identifier']}")["consumers"][0]["id"]
    body = sf.restful(
        f"apps/oauth/credentials/{app['identifier']}/{consumer}", params={"part": "keyandsecret"}
    )
    assert (body["key"], body["secret"]) == (KEY, SECRET)


def test_a_failed_create_removes_what_it_had_made(org: Any, driver: Driver) -> None:
    # The policies component is the last of the four; a non-transient failure there (the daily API limit hit
    # right then) must leave no half-built app behind.
    org.fault(
        kind="request_limit_exceeded", operation="metadata.createMetadata", name=f"{APP}_oauthPlcy", count=1
    )
    with pytest.raises(SalesforceError):
        driver.create(**inputs(org))
    org.clear_faults()
    assert all(read_md(org, part) is None for part in TYPES)


def test_existing_app_is_adopted_and_missing_parts_are_added(org: Any, driver: Driver) -> None:
    external_client_app_by_hand(
        org, {"label": "Old label", "contactEmail": "old@example.com"},
        callbackUrl="https://dummy_url/cb", consumerKey=KEY, consumerSecret=SECRET,
    )  # fmt: skip
    outs = driver.create(**inputs(org), adopt_existing=True)
    assert outs["adopted"] is True
    assert read_md(org, "app").contactEmail == "admin@example.com"
    assert read_md(org, "global").callbackUrl.endswith("/services/authcallback/ECI_Auth_Provider")
    assert read_md(org, "global").consumerKey == KEY
    assert read_md(org, "oauth") is not None and read_md(org, "policies") is not None
    driver.delete()  # adopted: left in place
    assert read_md(org, "app") is not None


def test_same_inputs_diff_to_no_change_without_any_call(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    org.reset_calls()
    assert driver.diff(**inputs(org, profiles=["System Administrator", "Standard User"])).changes is False
    assert salesforce_ops(org.calls()) == {}


@pytest.mark.parametrize(
    ("field", "value", "part", "observe"),
    [
        ("label", "ECI App", "app", lambda c: c.label),
        ("contact_email", "ops@example.com", "app", lambda c: c.contactEmail),
        ("callback_url", "https://example.com/services/authcallback/X", "global", lambda c: c.callbackUrl),
        ("scopes", ["Api", "Web"], "oauth",
         lambda c: sorted(c.commaSeparatedOauthScopes.replace(" ", "").split(","))),
        ("profiles", ["System Administrator"], "policies", lambda c: [c.commaSeparatedProfile]),
        ("require_secret_for_web_server_flow", False, "global", lambda c: not c.isConsumerSecretOptional),
        ("require_secret_for_refresh_token_flow", False, "global",
         lambda c: c.isSecretRequiredForRefreshToken),
        ("permitted_users", "AllSelfAuthorized", "policies", lambda c: c.permittedUsersPolicyType),
        ("ip_relaxation", "Enforce", "policies", lambda c: c.ipRelaxationPolicyType),
        ("refresh_token_validity_days", 90, "policies", lambda c: c.refreshTokenValidityPeriod),
    ],
)  # fmt: skip
def test_in_place_update_of(
    org: Any, driver: Driver, field: str, value: Any, part: str, observe: Any
) -> None:
    driver.create(**inputs(org))
    result = driver.diff(**inputs(org, **{field: value}))
    assert result.changes is True and result.replaces == []
    org.reset_calls()
    driver.update(**inputs(org, **{field: value}))
    # only the component that holds the field is written
    assert salesforce_ops(org.calls()).get("metadata.updateMetadata") == 1
    assert observe(read_md(org, part)) == value
    assert read_md(org, "global").consumerKey == KEY
    assert driver.diff(**inputs(org, **{field: value})).changes is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("full_name", "ECI_App2"), ("consumer_key", "OtherKey012345"), ("consumer_secret", "S-2-abcdefg")],
)
def test_replace_is_required_for(org: Any, driver: Driver, field: str, value: str) -> None:
    driver.create(**inputs(org))
    assert driver.diff(**inputs(org, **{field: value})).replaces == [field]


def test_refresh_shows_admin_edits_and_update_restores_them(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    mdapi = org.mdapi()
    policies = read_md(org, "policies")
    policies.ipRelaxationPolicyType = "Enforce"
    mdapi.ExtlClntAppOauthConfigurablePolicies.update(policies)
    app = read_md(org, "app")
    app.contactEmail = "setup-edit@example.com"
    mdapi.ExternalClientApplication.update(app)
    org.reset_calls()
    result = driver.read()
    # + the app's identity
    assert salesforce_ops(org.calls()) == {"metadata.readMetadata": 4, "metadata.listMetadata": 1}
    assert (result.inputs["ip_relaxation"], result.inputs["contact_email"]) == (
        "Enforce",
        "setup-edit@example.com",
    )
    assert kept_secret(result.inputs["consumer_secret"]) == SECRET
    assert result.outs["write_only_fields"] == ["consumer_secret"]
    driver.update(**inputs(org))
    assert (read_md(org, "policies").ipRelaxationPolicyType, read_md(org, "app").contactEmail) == (
        "Bypass", "admin@example.com",
    )  # fmt: skip
    assert driver.diff(**inputs(org)).changes is False


def test_delete_removes_all_four_in_reverse_order_and_twice_is_fine(org: Any, driver: Driver) -> None:
    driver.create(**inputs(org))
    org.reset_calls()
    driver.delete()
    # listMetadata first: only the app this stack created is deleted
    assert salesforce_ops(org.calls()) == {"metadata.listMetadata": 1, "metadata.deleteMetadata": 4}
    assert all(read_md(org, part) is None for part in TYPES)
    driver.delete()


def test_unknown_profile_fails_with_no_write(org: Any, driver: Driver) -> None:
    org.reset_calls()
    with pytest.raises(SalesforceError) as caught:
        driver.create(**inputs(org, profiles=["Nobody"]))
    assert "Nobody" in str(caught.value) and SECRET not in str(caught.value)
    assert org.calls()["writes"] == 0


@pytest.mark.parametrize("component", ["app", "oauth", "policies"])
def test_reply_lost_after_a_component_was_saved_converges_without_duplicates(
    org: Any, driver: Driver, component: str
) -> None:
    # Salesforce saves the component, then the connection drops before the reply: the retry finds it there.
    org.fault(kind="reply_lost", operation="metadata.createMetadata", name=TYPES[component][1], count=1)
    outs = driver.create(**inputs(org))
    assert outs["adopted"] is False  # it is ours: destroy will remove it
    mdapi = org.mdapi()
    for type_name, name in TYPES.values():
        listed = mdapi.list_metadata([mdapi.ListMetadataQuery(type=type_name)]) or []
        assert [p.fullName for p in listed] == [name]
    driver.delete()
    assert all(read_md(org, part) is None for part in TYPES)


def test_existing_app_with_another_key_is_not_silently_adopted(org: Any, driver: Driver) -> None:
    external_client_app_by_hand(
        org, callbackUrl="https://dummy_url/cb", consumerKey="SomeoneElsesKey0001", consumerSecret=SECRET
    )
    org.reset_calls()
    with pytest.raises(SalesforceError) as caught:
        driver.create(**inputs(org))
    assert "another consumer key" in str(caught.value)
    assert org.calls()["writes"] == 0
