"""Preflight's reads run concurrently (bench finding: 7-9 sequential calls on everyone's critical path), and
the client stays correct when several threads use it at once: same checks, same messages, same call counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import requests

from providers.preflight import PreflightInputs, PreflightProvider
from salesforce import SalesforceClient
from tests.support.driver import Driver, configured, sfdx_settings

T = TypeVar("T")


def inputs(org: Any, **extra: Any) -> dict[str, Any]:
    return {
        "__provider": "p",
        "aircall_api_url": org.aircall_url,
        "aircall_api_id": org.aircall_api_id,
        "aircall_api_token": org.aircall_api_token,
        **extra,
    }


def model_inputs(**extra: Any) -> dict[str, Any]:
    """Inputs as create hands them to the checks (defaults applied)."""
    return PreflightInputs.model_validate(
        {"aircall_api_id": "id", "aircall_api_token": "token-value", **extra}
    ).model_dump()


class RendezvousClient:
    """Answers like a healthy org, but every call waits until all ``parties`` calls are in flight together:
    checks made one after another would never get there (the barrier times out and the test fails)."""

    instance_url = "https://example.my.salesforce.com"

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=10)
        self.threads: set[int] = set()
        self.calls: list[str] = []
        self.warmed = threading.Event()
        self._lock = threading.Lock()
        self._listings: dict[tuple[str, ...], threading.Lock] = {}
        self._listed: set[tuple[str, ...]] = set()

    def _meet(self, what: str) -> None:
        with self._lock:
            self.calls.append(what)
            self.threads.add(threading.get_ident())
        self.barrier.wait()

    def note_org(self, org_id: str, *, sandbox: bool | None = None) -> None:
        """What the Organization query answered (SalesforceClient.note_org): nothing to meet for."""

    def warm_metadata(self) -> None:
        self.warmed.set()

    def query(self, soql: str, *, artifact: str) -> list[dict[str, Any]]:
        self._meet(soql.split(" FROM ")[1].split()[0])
        if "FROM Organization" in soql:
            return [{"Id": "00D", "OrganizationType": "Enterprise Edition", "IsSandbox": True}]
        if "FROM UserPermissionAccess" in soql:
            return [
                dict.fromkeys(
                    ("PermissionsApiEnabled", "PermissionsAuthorApex", "PermissionsCustomizeApplication"),
                    True,
                )
            ]
        if "FROM PermissionSet" in soql:
            names = ("Einstein_Conversation_Insights", "Conversation_Insights_Integration_User")
            return [{"Name": n, "Label": n} for n in (*names, "Voice_Connector_Permission")]
        return []  # no Site yet

    def metadata_read(self, type_name: str, names: list[str], *, artifact: str) -> list[Any]:
        self._meet(type_name)
        if type_name == "ConversationalIntelligenceSettings":
            return [{"fullName": names[0], "enableCallCoaching": True}]
        return [None]  # no ECI_Connected_App yet

    def metadata_list(
        self, type_name: str, *, artifact: str, along: Any = (), reuse: bool = False
    ) -> list[dict[str, Any]]:
        # As SalesforceClient's kept listings: the readers of one group share its one call.
        group = tuple(sorted({type_name, *along}))
        with self._lock:
            lock = self._listings.setdefault(group, threading.Lock())
        with lock:
            if group not in self._listed:
                self._meet("listMetadata " + "+".join(group))
                self._listed.add(group)
        return []  # none of the guide's components yet

    def metadata_validate_deploy(self, zip_bytes: bytes, *, artifact: str) -> dict[str, Any]:
        # Depends on the Site and ConnectedApp reads, so it comes after the rendezvous, not in it.
        with self._lock:
            self.calls.append("deploy")
        return {"done": True, "success": True, "status": "Succeeded", "details": {}}

    # The Aircall ping borrows the client's HTTP session and retry policy.
    @property
    def http(self) -> RendezvousClient:
        return self

    def get(self, url: str, *, auth: Any = None, timeout: float = 0) -> requests.Response:
        self._meet("aircall")
        response = requests.Response()
        response.status_code = 200
        return response

    def retrying(self, artifact: str, operation: str, fn: Callable[[], T]) -> T:
        return fn()


class FakeClientPreflight(PreflightProvider):
    fake: RendezvousClient

    @property
    def client(self) -> Any:
        return self.fake


def test_all_preflight_reads_are_in_flight_at_the_same_time() -> None:
    # Organization, ConversationalIntelligenceSettings, PermissionSet, Site, UserPermissionAccess, Aircall
    # ping, and a new stack's look-up of the components it creates: one listMetadata per group (the
    # ConnectedApp check shares the first).
    provider = FakeClientPreflight()
    provider.fake = fake = RendezvousClient(parties=8)
    outcome = provider.run_checks(model_inputs(), new_stack=True)
    assert outcome.blockers == []
    found = outcome.outputs
    assert sorted(fake.calls) == sorted(
        [
            "Organization",
            "ConversationalIntelligenceSettings",
            "PermissionSet",
            "Site",
            "listMetadata AuthProvider+ConnectedApp+CustomSite",
            "listMetadata ExternalClientApplication+NamedCredential",
            "UserPermissionAccess",
            "aircall",
            "deploy",
        ]
    )
    assert len(fake.threads) == 8 and threading.get_ident() not in fake.threads
    assert fake.warmed.is_set()
    assert found["edition"] == "Enterprise" and found["unverified"] == []
    assert found["anonymous_apex"] == "allowed"


@pytest.fixture
def slow_org(org: Any) -> Iterator[Any]:
    org.settings(latency_ms=400)
    yield org
    org.settings(latency_ms=0)


def test_preflight_costs_about_one_round_trip_not_one_per_check(slow_org: Any) -> None:
    org = slow_org
    driver = Driver(configured(PreflightProvider(), org))
    SalesforceClient.warm_metadata(driver.provider.client)  # the process-wide WSDL parse is not timed here
    org.reset_calls()
    started = time.monotonic()
    driver.create(**{k: v for k, v in inputs(org).items() if k != "__provider"})
    elapsed = time.monotonic() - started
    calls = org.calls()
    # The same 5 Salesforce reads (and the ping) as when they ran one after another, which took >= 6 x 0.4 s,
    # plus the check-only deploy and its status check, which need the Site and ConnectedApp reads' answers.
    # (and the UserPermissionAccess read and the second listMetadata, concurrent with them)
    assert calls["total"] == 9 and calls["writes"] == 0 and calls["by_operation"]["aircall.ping"] == 1
    # Three round trips (reads, deploy, status) plus slack for a busy 2-core CI machine; one after another
    # the 9 calls cannot beat 9 x 0.4 s.
    assert elapsed < 5 * 0.4, f"{elapsed:.2f} s: the reads did not overlap"


def test_with_several_prerequisites_missing_every_one_is_reported_in_guide_order(org: Any) -> None:
    """Issue 23: it took three runs to learn edition, then ECI off, then the rest. One run lists them all."""
    org.settings(edition="Professional", eci_enabled=False)
    provider = configured(PreflightProvider(), org)
    org.reset_calls()
    result = provider.check(
        {}, inputs(org, aircall_api_token="wrong-token", permission_sets=["Not_Installed_Set"])
    )
    found = [f.reason for f in result.failures]
    assert len(found) == 4, found
    for reason, what in zip(
        found,
        ("Professional Edition", "not enabled", "Not_Installed_Set", "Aircall refused"),
        strict=True,
    ):
        assert what in reason
    assert org.calls()["writes"] == 0


def test_shared_artifacts_are_read_concurrently_and_only_the_missing_ones_are_named(org: Any) -> None:
    org.mdapi().AuthProvider.create(
        [
            org.mdapi().AuthProvider(
                fullName="ECI_Auth_Provider",
                friendlyName="ECI Auth Provider",
                providerType="Salesforce",
                consumerKey="key-12345678",
                consumerSecret="secret-12345678",
            )
        ]
    )
    provider = configured(PreflightProvider(), org)
    org.reset_calls()
    failures = provider.check({}, inputs(org, shared_eci="adopt")).failures
    assert len(failures) == 1
    text = failures[0].reason
    assert (
        "do not exist: ConnectedApp ECI_Connected_App (guide: Set Up the Connected App); CustomSite "
        "VoiceConnector (guide: Set Up the Salesforce Site); NamedCredential ECI_Named_Credential" in text
    )
    assert "AuthProvider" not in text.split("—")[0]
    # Organization, PermissionSet, UserPermissionAccess; ECI settings; the four shared artifacts and (a new
    # stack) the Aircall named credential in one listMetadata per group.
    by_op = org.calls()["by_operation"]
    assert by_op["rest.query"] == 3 and by_op["metadata.readMetadata"] == 1
    assert by_op["metadata.listMetadata"] == 2


def test_threads_meeting_the_same_expired_session_log_in_again_once(org: Any) -> None:
    client = SalesforceClient(sfdx_settings(org))
    client.query("SELECT Id FROM Organization", artifact="test")  # logged in
    stale = client.sf
    org.reset_calls()
    start = threading.Barrier(4, timeout=10)

    def renew() -> None:
        start.wait()
        client._renew(stale)

    threads = [threading.Thread(target=renew) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert org.calls()["by_operation"].get("auth.oauth_token") == 1
    assert client.sf is not stale
    assert client.query("SELECT Id FROM Organization", artifact="test")


def test_a_preflight_about_to_be_created_parses_the_metadata_wsdl_ahead_and_a_no_op_does_not() -> None:
    provider = FakeClientPreflight()
    provider.fake = fake = RendezvousClient(parties=1)
    news = {"aircall_api_id": "id", "aircall_api_token": "token-value"}
    checked = provider.check({}, news)  # a new resource: the engine calls Check without old inputs
    assert checked.failures == [] and fake.warmed.is_set()
    fake.warmed.clear()
    fake.calls.clear()
    provider.check(dict(checked.inputs), news)  # already deployed: a no-op `up` runs Check and Diff only
    assert not fake.warmed.is_set() and fake.calls == []
