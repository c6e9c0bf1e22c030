"""The org binding at the provider's level (issue 21, M3): what Preflight records when the stack first touches
its org (its Id, whether it is a sandbox; production only with the opt-in), and a refusal before any read or
write for each login method whose credentials reach another org. The engine-level scenario (preview,
refresh, up, destroy of the demo stack re-pointed at another org) is tests/reliability/test_org_binding.py."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from providers.integration_user import IntegrationUserProvider
from providers.kit import ORG_OUTPUT, ArtifactProvider
from providers.preflight import PreflightFailed, PreflightProvider
from salesforce import SalesforceError
from tests.support.driver import Driver, configured


def _org_id(org: Any) -> str:
    return str(org.sf().query("SELECT Id FROM Organization")["records"][0]["Id"])


def _preflight_inputs(org: Any, **extra: Any) -> dict[str, Any]:
    return {
        "aircall_api_url": org.aircall_url,
        "aircall_api_id": org.aircall_api_id,
        "aircall_api_token": org.aircall_api_token,
        **extra,
    }


def test_preflight_records_the_org_and_whether_it_is_a_sandbox(org: Any) -> None:
    outs = Driver(configured(PreflightProvider(), org)).create(**_preflight_inputs(org))
    assert outs[ORG_OUTPUT] == {"id": _org_id(org), "instance_url": org.instance_url, "sandbox": True}


def test_a_production_org_needs_the_opt_in_the_first_time(org: Any) -> None:
    org.settings(sandbox=False)
    driver = Driver(configured(PreflightProvider(), org))
    org.reset_calls()
    # In check (a preview, or `up` before create) as in a create that runs the checks itself.
    failures = driver.provider.check({}, {"__provider": "p", **_preflight_inputs(org)}).failures
    assert [f.property for f in failures] == ["allow_production"]
    with pytest.raises(PreflightFailed) as info:
        driver.provider.create({"__provider": "p", **_preflight_inputs(org)})
    for text in (str(info.value), failures[0].reason):
        assert "production" in text and "eci-aircall:allowProduction true" in text and _org_id(org) in text
    assert org.calls()["writes"] == 0
    outs = driver.create(**_preflight_inputs(org, allow_production=True))
    assert outs[ORG_OUTPUT]["sandbox"] is False


def _connected(provider: ArtifactProvider, org: Any, **config: str) -> ArtifactProvider:
    provider.configure(
        ConfigureRequest(Config({"eci-aircall:caBundle": org.ca_cert, **config}, "test-project"))
    )
    return provider


def _user_inputs() -> dict[str, Any]:
    return {
        "username": "eci-bound@org-a.example",
        "email": "eci@org-a.example",
        "first_name": "ECI",
        "last_name": "Bound",
        "alias": "ecibound",
    }


@pytest.mark.parametrize("login", ["access_token", "sfdx_auth_url"])
def test_every_operation_refuses_another_org_before_reading_or_writing(
    org: Any, fresh_emulator: Any, login: str
) -> None:
    """A user created on org A; the same provider state with a login that reaches org B: diff (preview),
    read (refresh), update (up) and delete (destroy) each refuse, naming both Ids, with 0 writes in B (and
    with an access token, which names its org, 0 calls at all; an SFDX auth URL costs only its login)."""
    org_a, org_b = org, fresh_emulator
    id_a, id_b = _org_id(org_a), _org_id(org_b)
    driver = Driver(configured(IntegrationUserProvider(), org_a))
    outs = driver.create(**_user_inputs())
    assert outs[ORG_OUTPUT]["id"][:15] == id_a[:15]

    if login == "access_token":
        config = {
            "eci-aircall:instanceUrl": org_b.instance_url,
            "eci-aircall:accessToken": org_b.access_token,
        }
    else:
        config = {"eci-aircall:sfdxAuthUrl": org_b.sfdx_auth_url()}
    driver.provider = _connected(IntegrationUserProvider(), org_b, **config)
    org_b.reset_calls()
    for step in (
        lambda: driver.diff(**_user_inputs()),
        driver.read,
        lambda: driver.update(**{**_user_inputs(), "last_name": "Changed"}),
        driver.delete,
    ):
        with pytest.raises(SalesforceError) as info:
            step()
        assert info.value.error_code == "ORG_MISMATCH"
        assert id_a[:15] in str(info.value) and id_b[:15] in str(info.value)
        assert org_b.calls()["writes"] == 0
    assert org_b.calls()["total"] == (0 if login == "access_token" else 1)
    soql = "SELECT LastName, IsActive FROM User WHERE Username = 'eci-bound@org-a.example'"
    user = org_a.sf().query(soql)["records"][0]
    assert user["LastName"] == "Bound" and user["IsActive"] is True


def test_a_state_from_before_the_binding_records_its_org_at_the_first_refresh(
    org: Any, fresh_emulator: Any
) -> None:
    """Outputs without ``org`` (written before the binding) are not checked; the first refresh records the
    org the login reaches, with no call of its own, and from then on another org is refused."""
    driver = Driver(configured(IntegrationUserProvider(), org))
    driver.create(**_user_inputs())
    driver.outs.pop(ORG_OUTPUT)
    org.reset_calls()
    driver.read()
    assert driver.plain()[ORG_OUTPUT]["id"][:15] == _org_id(org)[:15]
    assert "auth.userinfo" not in org.calls()["by_operation"]  # the access token named the org
    driver.provider = _connected(
        IntegrationUserProvider(),
        fresh_emulator,
        **{
            "eci-aircall:instanceUrl": fresh_emulator.instance_url,
            "eci-aircall:accessToken": fresh_emulator.access_token,
        },
    )
    with pytest.raises(SalesforceError, match="ORG_MISMATCH"):
        driver.diff(**_user_inputs())
