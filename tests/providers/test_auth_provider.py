"""AuthProvider against the emulator: provider methods called the way the engine calls them."""

from __future__ import annotations

from typing import Any

import pytest

from providers.auth_provider import AuthProviderProvider
from providers.kit import is_unknown, secret_matches
from salesforce import SalesforceError
from tests.support.driver import Driver, configured
from tests.support.kept_secrets import kept_secret
from tests.support.seeds import auth_provider_by_hand

KEY = "3MVG9providerTestKey0000000000000000"
SECRET = "AUTH-PROVIDER-TEST-SECRET-5f1c0e"


def inputs(**overrides: Any) -> dict[str, Any]:
    return {"consumer_key": KEY, "consumer_secret": SECRET, **overrides}


@pytest.fixture
def driver(org: Any) -> Driver:
    return Driver(configured(AuthProviderProvider(), org))


def read_md(org: Any, name: str = "ECI_Auth_Provider") -> Any:
    return org.mdapi().AuthProvider.read(name)


def test_create_writes_the_guide_values_and_outputs_the_callback_url(org: Any, driver: Driver) -> None:
    org.reset_calls()
    outs = driver.create(**inputs())
    calls = org.calls()
    live = read_md(org)
    assert (live.fullName, live.friendlyName, live.providerType, live.consumerKey) == (
        "ECI_Auth_Provider", "ECI Auth Provider", "Salesforce", KEY,
    )  # fmt: skip
    assert outs["callback_url"] == f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    assert outs["adopted"] is False
    assert kept_secret(driver.outs["consumer_secret"]) == SECRET
    assert secret_matches(SECRET, outs["consumer_secret_hash"])
    assert outs["write_only_fields"] == ["consumer_secret"]
    # find (readMetadata) + createMetadata + listMetadata (the identity it was created with: id, createdDate,
    # createdById, which readMetadata does not give); the callback URL needs no call.
    assert calls["by_operation"].get("metadata.readMetadata") == 1
    assert calls["by_operation"].get("metadata.createMetadata") == 1
    assert calls["total"] == 3 and calls["writes"] == 1


def test_consumer_key_and_secret_are_output_only_as_secrets(driver: Driver) -> None:
    driver.create(**inputs())
    from pulumi.runtime import rpc

    assert rpc.is_rpc_secret(driver.outs["consumer_key"])
    assert kept_secret(driver.outs["consumer_secret"]) == SECRET  # encrypted in state
    unwrapped = {k: v for k, v in driver.outs.items() if not rpc.is_rpc_secret(v)}
    assert SECRET not in repr(unwrapped)


def test_existing_auth_provider_is_adopted_not_duplicated(org: Any, driver: Driver) -> None:
    auth_provider_by_hand(org)
    outs = driver.create(**inputs(), adopt_existing=True)
    assert outs["adopted"] is True
    live = read_md(org)
    assert (live.friendlyName, live.consumerKey) == ("ECI Auth Provider", KEY)
    assert (
        len(
            org.sf().query("SELECT Id FROM AuthProvider WHERE DeveloperName = 'ECI_Auth_Provider'")["records"]
        )
        == 1
    )
    # An adopted provider is left in place on delete unless delete_adopted is set.
    driver.delete()
    assert read_md(org).fullName == "ECI_Auth_Provider"


def test_an_existing_auth_provider_is_refused_unless_shared_eci_is_adopt(org: Any, driver: Driver) -> None:
    # Another voice connector's auth provider: taken over only with the opt-in (sharedEci adopt, which the
    # component turns into adopt_existing); otherwise nothing is written and the error names the choices.
    auth_provider_by_hand(org)
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        driver.create(**inputs())
    assert "was not created by this stack" in str(info.value)
    assert "eci-aircall:sharedEci adopt" in str(info.value) and "sharedEci skip" in str(info.value)
    assert org.calls()["writes"] == 0
    assert read_md(org).friendlyName == "Old name"


def test_same_inputs_diff_to_no_change_without_any_call(org: Any, driver: Driver) -> None:
    driver.create(**inputs())
    org.reset_calls()
    result = driver.diff(**inputs())
    assert result.changes is False and not result.replaces
    assert org.calls()["total"] == 0


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("friendly_name", "ECI Auth Provider 2", "friendlyName"),
        ("consumer_key", "3MVG9anotherKey000000000000", "consumerKey"),
    ],
)
def test_in_place_update_of(org: Any, driver: Driver, field: str, value: str, path: str) -> None:
    driver.create(**inputs())
    result = driver.diff(**inputs(**{field: value}))
    assert result.changes is True and result.replaces == []
    outs = driver.update(**inputs(**{field: value}))
    assert getattr(read_md(org), path) == value
    assert outs[field] == value


def test_changed_consumer_secret_is_detected_by_hash_and_sent(org: Any, driver: Driver) -> None:
    driver.create(**inputs())
    result = driver.diff(**inputs(consumer_secret="A-NEW-SECRET-VALUE-9"))
    assert result.changes is True and result.replaces == []
    org.reset_calls()
    outs = driver.update(**inputs(consumer_secret="A-NEW-SECRET-VALUE-9"))
    assert secret_matches("A-NEW-SECRET-VALUE-9", outs["consumer_secret_hash"])
    assert org.calls()["by_operation"].get("metadata.updateMetadata") == 1


@pytest.mark.parametrize(
    ("field", "value"), [("full_name", "ECI_Auth_Provider2"), ("provider_type", "OpenIdConnect")]
)
def test_replace_is_required_for(driver: Driver, field: str, value: str) -> None:
    driver.create(**inputs())
    result = driver.diff(**inputs(**{field: value}))
    assert result.replaces == [field]
    assert result.delete_before_replace is True


def test_unknown_inputs_in_preview_are_not_a_change(driver: Driver) -> None:
    from pulumi.runtime import rpc

    driver.create(**inputs())
    result = driver.provider.diff(
        driver.id, driver.outs, {"consumer_key": rpc.UNKNOWN, **inputs(consumer_key=rpc.UNKNOWN)}
    )
    assert result.changes is False
    assert is_unknown(rpc.UNKNOWN)


def test_refresh_shows_an_admin_edit_and_update_restores_it(org: Any, driver: Driver) -> None:
    driver.create(**inputs())
    mdapi = org.mdapi()
    live = read_md(org)
    live.friendlyName = "Edited in Setup"
    mdapi.AuthProvider.update(live)
    org.reset_calls()
    result = driver.read()
    assert org.calls()["total"] == 2  # readMetadata + listMetadata (still the component this stack made?)
    assert result.inputs["friendly_name"] == "Edited in Setup"
    assert kept_secret(result.inputs["consumer_secret"]) == SECRET
    assert result.outs["write_only_fields"] == ["consumer_secret"]
    assert driver.diff(**inputs()).changes is True
    driver.update(**inputs())
    assert read_md(org).friendlyName == "ECI Auth Provider"
    assert driver.diff(**inputs()).changes is False


def test_refresh_of_a_deleted_provider_drops_it(org: Any, driver: Driver) -> None:
    driver.create(**inputs())
    org.mdapi().AuthProvider.delete("ECI_Auth_Provider")
    assert driver.read().id == ""


def test_delete_removes_it_and_a_second_delete_is_fine(org: Any, driver: Driver) -> None:
    driver.create(**inputs())
    driver.delete()
    assert not org.sf().query("SELECT Id FROM AuthProvider WHERE DeveloperName = 'ECI_Auth_Provider'")[
        "records"
    ]
    driver.delete()


@pytest.mark.parametrize(
    ("bad", "prop"),
    [
        ({"full_name": "ECI Auth Provider"}, "full_name"),
        ({"provider_type": "Salesfarce"}, "provider_type"),
        ({"consumer_key": ""}, "consumer_key"),
    ],
)
def test_bad_input_is_a_check_failure_with_no_call(org: Any, bad: dict[str, Any], prop: str) -> None:
    provider = configured(AuthProviderProvider(), org)
    org.reset_calls()
    result = provider.check({}, {"__provider": "p", **inputs(**bad)})
    assert [f.property for f in result.failures] == [prop]
    assert SECRET not in " ".join(f.reason for f in result.failures)
    assert org.calls()["total"] == 0 and org.calls()["writes"] == 0


def test_reply_lost_after_the_provider_was_saved_converges_to_one_of_ours(org: Any, driver: Driver) -> None:
    org.fault(kind="reply_lost", operation="metadata.createMetadata", name="ECI_Auth_Provider", count=1)
    outs = driver.create(**inputs())
    assert outs["adopted"] is False  # ours: destroy removes it
    rows = org.sf().query("SELECT Id FROM AuthProvider WHERE DeveloperName = 'ECI_Auth_Provider'")["records"]
    assert len(rows) == 1
    driver.delete()
    assert read_md(org).fullName is None
