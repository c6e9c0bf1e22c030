"""Claims only by proof (issue 21, M1): two stacks of one org run by the same admin. Stack A's create of the
`Aircall` named credential is interrupted (its journal entry is begun, Salesforce never answered); stack B
then creates the credential; A's next `up` finds it. Created after A's entry, by the same user: creator and
time fit, but only the record Id A's create returned could prove it A's, and there is none. So A refuses it,
naming the credential and the opt-in, and writes nothing to it; B's credential stays exactly as B made it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from providers.kit import CreateJournal, InputError
from providers.named_credential import NamedCredentialProvider
from tests.support.driver import Driver, configured


def _aircall(endpoint: str, username: str, password: str) -> dict[str, Any]:
    return {
        "full_name": "Aircall",
        "label": "Aircall",
        "endpoint": endpoint,
        "protocol": "Password",
        "username": username,
        "password": password,
        "allow_merge_fields_in_header": True,
        "allow_merge_fields_in_body": True,
    }


def _stack(org: Any, name: str) -> NamedCredentialProvider:
    provider = configured(NamedCredentialProvider(), org)
    assert isinstance(provider, NamedCredentialProvider)
    provider.stack = f"eci-aircall/{name}"
    return provider


def test_an_interrupted_create_never_claims_another_stacks_artifact_of_the_same_admin(org: Any) -> None:
    stack_a, stack_b = _stack(org, "team-a"), _stack(org, "team-b")
    # What A's interrupted create leaves: the entry, begun just before the call that never got an answer.
    CreateJournal().begin(stack_a.org_key(), stack_a.stack, "NamedCredential Aircall")
    time.sleep(1.1)  # createdDate has second precision: B's credential is strictly after A's entry
    Driver(stack_b).create(**_aircall("https://api.aircall.io/", "team-b-api-id", "team-b-token-0001"))
    before = org.mdapi().NamedCredential.read("Aircall")

    org.reset_calls()
    with pytest.raises(InputError) as info:
        Driver(stack_a).create(**_aircall("https://team-a.example/", "team-a-api-id", "team-a-token-0002"))
    text = str(info.value)
    assert "NamedCredential Aircall" in text and "eci-aircall:adoptAircallNamedCredential" in text
    assert "interrupted" in text and "not provably" in text
    assert org.calls()["writes"] == 0
    after = org.mdapi().NamedCredential.read("Aircall")
    assert (after.endpoint, after.username, after.password) == (
        before.endpoint,
        before.username,
        before.password,
    )
    assert after.username == "team-b-api-id"


def test_a_create_salesforce_confirmed_is_claimed_though_its_id_look_up_failed(org: Any) -> None:
    """A Metadata create answers success for a full name, not a record Id; the Id takes one more call. When
    that call fails (here the daily API limit), Salesforce's success answer already proves the artifact this
    stack's (any other create of the name would have met DUPLICATE), so the next `up` claims it, unrefused."""
    stack = _stack(org, "team-a")
    org.fault(kind="request_limit_exceeded", operation="metadata.listMetadata", count=5)
    with pytest.raises(Exception):  # noqa: B017 - the look-up after the create fails, whatever maps it
        Driver(stack).create(**_aircall("https://api.aircall.io/", "api-id", "token-0003"))
    org.clear_faults()
    made = org.sf().query("SELECT COUNT() FROM NamedCredential WHERE DeveloperName = 'Aircall'")
    assert made["totalSize"] == 1
    outs = Driver(stack).create(**_aircall("https://api.aircall.io/", "api-id", "token-0003"))
    assert outs["adopted"] is False  # ours: destroy removes it
