"""EciAircallIntegration's resource graph, checked on what it registers with the engine (Pulumi's mock
monitor, so no org and no provider process): children per sharedEci mode, the OAuth app kind, the
dependencies each child declares (only true ones, so independent artifacts run in parallel), adopt's
retain-on-destroy, and that a bad config registers nothing at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from components.eci_aircall import TYPE_TOKEN, EciAircallIntegration, EciAircallIntegrationArgs, out
from providers.config.stack import ConfigError, IntegrationUserConfig, load
from tests.support.component_graph import EXPECTED_CREATE_GRAPH, SHARED

NAME = "eci"
TOKEN = "aircall-token-Qx19"


@dataclass
class Registration:
    name: str
    type: str
    parent: str
    dependencies: set[str]
    property_dependencies: dict[str, set[str]]
    retain_on_delete: bool
    inputs: dict[str, Any] = field(default_factory=dict)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping what the real engine uses to schedule: dependencies and options."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations[response.urn] = Registration(
                name=request.name,
                type=request.type,
                parent=request.parent,
                dependencies=set(request.dependencies),
                property_dependencies={k: set(v.urns) for k, v in request.propertyDependencies.items()},
                retain_on_delete=bool(request.retainOnDelete),
            )
        return response


# Plausible outputs per child (by the suffix of its name), so Output-fed inputs resolve like after a real up.
FAKE_OUTPUTS: dict[str, dict[str, Any]] = {
    "preflight": {"my_domain_url": "https://acme.my.salesforce.com", "edition": "Enterprise Edition"},
    "integration-user": {"user_id": "005000000000001AAA", "adopted": False},
    "oauth-consumer": {"consumer_key": "3MVGkey", "consumer_secret": "s3cr3t", "adopted": False},
    "auth-provider": {
        "callback_url": "https://acme.my.salesforce.com/services/authcallback/ECI_Auth_Provider",
        "adopted": False,
    },
    "oauth-app": {"app_name": "ECI_Connected_App", "adopted": False},
    "site": {
        "guest_user_id": "005000000000009AAA",
        "site_url": "https://acme.my.salesforce-sites.com",
        "adopted": False,
    },
    "site-guest-user": {"is_active": True},
    "eci-named-credential": {
        "authentication_status": "NotAuthenticated",
        "authorize_url": "https://acme.my.salesforce.com/lightning/setup/NamedCredential/home",
        "adopted": False,
    },
}


class Mocks(pulumi_mocks.Mocks):
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        suffix = args.name[len(NAME) + 1 :]
        state = dict(args.inputs)
        state.update(FAKE_OUTPUTS.get(suffix, {}))
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def monitor() -> Iterator[RecordingMonitor]:
    recording = RecordingMonitor(Mocks())
    pulumi.runtime.set_mocks(Mocks(), project="eci-aircall", stack="test", preview=False, monitor=recording)
    yield recording
    pulumi.runtime.set_all_config({}, [])


def make_args(**overrides: Any) -> EciAircallIntegrationArgs:
    values: dict[str, Any] = {
        "aircall_api_id": "api-id",
        "aircall_api_token": pulumi.Output.secret(TOKEN),
        "contact_email": "admin@acme.example",
        "integration_user": IntegrationUserConfig(
            username="eci@acme.example", email="eci@acme.example", first_name="E", last_name="I", alias="eci"
        ),
        "site_admin": "eci@acme.example",
        "site_default_record_owner": "eci@acme.example",
    }
    values.update(overrides)
    return EciAircallIntegrationArgs(**values)


def build(
    monitor: RecordingMonitor, **overrides: Any
) -> tuple[EciAircallIntegration, dict[str, Registration]]:
    """Construct the component, wait until every child is registered; return registrations by short name."""
    holder: dict[str, EciAircallIntegration] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        component = EciAircallIntegration(NAME, make_args(**overrides))
        holder["component"] = component
        # Resolving every output waits for all registrations (and so for all dependencies to be recorded).
        return pulumi.Output.all(
            component.integration_user_id,
            component.callback_url,
            component.site_url,
            component.next_manual_step,
            component.oauth_consumer_key,
        )

    program()
    return holder["component"], {short(r.name): r for r in monitor.registrations.values()}


def short(name: str) -> str:
    return name[len(NAME) + 1 :] if name != NAME else ""


def graph(monitor: RecordingMonitor) -> dict[str, set[str]]:
    """Child → the children it waits for (dependencies + property dependencies; the component excluded)."""
    names = {urn: short(r.name) for urn, r in monitor.registrations.items()}
    out: dict[str, set[str]] = {}
    for reg in monitor.registrations.values():
        if reg.type == TYPE_TOKEN:
            continue
        urns = set(reg.dependencies).union(*reg.property_dependencies.values())
        out[short(reg.name)] = {names[u] for u in urns if names.get(u)}
    return out


def test_create_registers_every_guide_artifact_with_only_true_dependencies(monitor: RecordingMonitor) -> None:
    component, regs = build(monitor)
    assert regs[""].type == TYPE_TOKEN
    assert graph(monitor) == EXPECTED_CREATE_GRAPH
    # Every child hangs off the component, so `pulumi preview` shows them as one tree.
    component_urn = next(urn for urn, r in monitor.registrations.items() if r.type == TYPE_TOKEN)
    assert all(r.parent == component_urn for r in monitor.registrations.values() if r.type != TYPE_TOKEN)


def longest_chain(g: dict[str, set[str]]) -> int:
    memo: dict[str, int] = {}

    def depth(node: str) -> int:
        if node not in memo:
            memo[node] = 1 + max((depth(d) for d in g[node]), default=0)
        return memo[node]

    return max(depth(n) for n in g)


def test_independent_artifacts_can_run_in_parallel(monitor: RecordingMonitor) -> None:
    _, regs = build(monitor)
    g = graph(monitor)
    # 13 resources, but the longest chain is preflight → user → site → guest user → assignment (5 steps):
    # the Aircall credential, the OAuth chain and the user's permission sets all proceed side by side.
    assert len(g) == 13
    assert longest_chain(g) == 5
    assert {n for n, d in g.items() if d == {"preflight"}} == {"integration-user", "oauth-consumer"}
    assert {n for n, d in g.items() if d == {"preflight", "integration-user"}} == {
        "user-eci-access",
        "user-ci-integration-user",
        "aircall-named-credential",
        "site",
    }


def test_callback_url_of_the_auth_provider_feeds_the_oauth_app(monitor: RecordingMonitor) -> None:
    component, regs = build(monitor)
    auth_urns = {u for u in monitor.registrations if u.endswith(f"::{NAME}-auth-provider")}
    assert regs["oauth-app"].property_dependencies["callback_url"] == auth_urns
    assert regs["eci-named-credential"].property_dependencies["auth_provider"] == auth_urns
    preflight_urns = {u for u in monitor.registrations if u.endswith(f"::{NAME}-preflight")}
    assert regs["eci-named-credential"].property_dependencies["endpoint"] == preflight_urns

    @pulumi.runtime.test
    def outputs() -> pulumi.Output[Any]:
        return pulumi.Output.all(component.callback_url, component.oauth_app_name).apply(check)

    def check(values: list[Any]) -> None:
        assert values == [FAKE_OUTPUTS["auth-provider"]["callback_url"], "ECI_Connected_App"]

    outputs()


def test_skip_leaves_shared_artifacts_out_and_asks_preflight_to_check_them(monitor: RecordingMonitor) -> None:
    component, regs = build(monitor, shared_eci="skip")
    assert graph(monitor) == {
        k: v
        for k, v in EXPECTED_CREATE_GRAPH.items()
        if k
        in {"preflight", "integration-user", "user-eci-access", "user-ci-integration-user"}
        | {"aircall-named-credential"}
    }
    assert component.oauth_app is None and component.site is None

    @pulumi.runtime.test
    def preflight_inputs() -> pulumi.Output[Any]:
        return pulumi.Output.all(
            out(component.preflight, "shared_eci"),
            component.next_manual_step,
        ).apply(check)

    def check(values: list[Any]) -> None:
        assert values[0] == "skip"
        assert values[1]["authenticated"] is None and "sharedEci=skip" in values[1]["instructions"]

    preflight_inputs()


def test_adopt_keeps_shared_artifacts_on_destroy(monitor: RecordingMonitor) -> None:
    _, regs = build(monitor, shared_eci="adopt")
    retained = {name for name, r in regs.items() if r.retain_on_delete}
    assert retained == SHARED


def test_adopt_with_delete_adopted_lets_destroy_delete_them(monitor: RecordingMonitor) -> None:
    _, regs = build(monitor, shared_eci="adopt", delete_adopted=True)
    assert {name for name, r in regs.items() if r.retain_on_delete} == set()


def test_create_retains_nothing(monitor: RecordingMonitor) -> None:
    _, regs = build(monitor)
    assert {name for name, r in regs.items() if r.retain_on_delete} == set()


def test_external_client_app_kind_replaces_the_connected_app(monitor: RecordingMonitor) -> None:
    from providers.external_client_app import ExternalClientApp

    component, regs = build(monitor, oauth_app_kind="externalClientApp")
    assert isinstance(component.oauth_app, ExternalClientApp)
    assert graph(monitor) == EXPECTED_CREATE_GRAPH

    @pulumi.runtime.test
    def kinds() -> pulumi.Output[Any]:
        assert component.oauth_consumer is not None
        return pulumi.Output.all(
            out(component.oauth_consumer, "app_kind"),
            out(component.preflight, "oauth_app_kind"),
        ).apply(lambda v: _assert_equal(v, ["ExternalClientApp", "ExternalClientApp"]))

    kinds()


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def test_the_integration_user_as_site_admin_in_other_case_still_waits_for_it(
    monitor: RecordingMonitor,
) -> None:
    _, regs = build(monitor, site_admin="ECI@Acme.Example", site_default_record_owner=None)
    assert graph(monitor)["site"] == {"preflight", "integration-user"}


def test_a_site_admin_other_than_the_integration_user_does_not_wait_for_it(monitor: RecordingMonitor) -> None:
    _, regs = build(monitor, site_admin="boss@acme.example", site_default_record_owner="boss@acme.example")
    assert graph(monitor)["site"] == {"preflight"}


@pytest.mark.parametrize(
    ("status", "authenticated", "says"),
    [
        # Measured by the credential's probe: the step is listed only while it is needed.
        ("Authenticated", True, None),
        ("NotAuthenticated", False, "click Authorize"),
        # Not measured (healthChecks false, or the probe could not tell): never a guess.
        ("Unknown", None, "in Setup only"),
    ],
)
def test_next_manual_step_never_guesses_the_authentication_status(
    monitor: RecordingMonitor, status: str, authenticated: bool | None, says: str | None
) -> None:
    FAKE_OUTPUTS["eci-named-credential"]["authentication_status"] = status
    try:
        component, _ = build(monitor)
    finally:
        FAKE_OUTPUTS["eci-named-credential"]["authentication_status"] = "NotAuthenticated"

    @pulumi.runtime.test
    def check() -> pulumi.Output[Any]:
        return component.next_manual_step.apply(
            lambda step: _assert_equal(
                (step["authenticated"], says in step["instructions"] if says else "instructions" in step),
                (authenticated, bool(says)),
            )
        )

    check()


def test_consumer_key_output_is_secret_and_next_step_points_at_setup(monitor: RecordingMonitor) -> None:
    component, _ = build(monitor)

    @pulumi.runtime.test
    def check() -> pulumi.Output[Any]:
        async def inspect() -> None:
            assert await component.oauth_consumer_key.is_secret()
            step = await component.next_manual_step.future()
            assert step is not None
            assert step["authenticated"] is False
            assert step["url"] == FAKE_OUTPUTS["eci-named-credential"]["authorize_url"]
            assert "Authorize" in step["instructions"]

        return pulumi.Output.from_input(inspect())

    check()


# --- the program: a bad config stops it before any resource is registered ----------------------------------


def test_bad_config_registers_no_resource(monitor: RecordingMonitor) -> None:
    pulumi.runtime.set_all_config(
        {
            "eci-aircall:instanceUrl": "https://acme.my.salesforce.com",
            "eci-aircall:accessToken": "00D!tok",
            "eci-aircall:aircallApiId": "id",
            "eci-aircall:contactEmail": "admin@acme.example",
            "eci-aircall:integrationUser": json.dumps({"username": "eci@acme.example"}),
        },
        ["eci-aircall:accessToken"],
    )
    with pytest.raises(ConfigError, match="aircallApiToken is not set"):
        EciAircallIntegration(NAME, load())
    assert monitor.registrations == {}


def test_the_component_creates_every_registered_resource(monitor: RecordingMonitor) -> None:
    """docs/contracts.md "Adding an artifact", step 3: the component creates each registered resource (the
    OAuth app as one kind or the other, per oauthAppKind)."""
    from providers.registry import RESOURCES

    build(monitor)
    build(monitor, oauth_app_kind="externalClientApp")
    dynamic = "pulumi-python:dynamic/eci-aircall:"
    types = {r.type for r in monitor.registrations.values()}
    made = {t.removeprefix(dynamic) for t in types if t.startswith(dynamic)}
    assert made == {r.__name__ for r in RESOURCES}
