"""The server is threaded: parallel clients (the engine runs providers in parallel) see consistent rules."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from simple_salesforce.exceptions import SalesforceMalformedRequest

from devtools.sf_emulator.client import EmulatorHandle


def _body(profile: str, username: str) -> dict[str, Any]:
    return {
        "Username": username,
        "LastName": "Par",
        "Email": username,
        "Alias": "par",
        "TimeZoneSidKey": "America/Los_Angeles",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US",
        "ProfileId": profile,
    }


def test_parallel_creates_all_land_with_distinct_ids(org: EmulatorHandle) -> None:
    profile = org.sf().query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]

    def create(i: int) -> str:
        return str(org.sf().User.create(_body(profile, f"par{i}@eci-test.example"))["id"])

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, range(40)))
    assert len(set(ids)) == 40
    assert org.sf().query("SELECT COUNT() FROM User WHERE LastName = 'Par'")["totalSize"] == 40
    assert org.calls()["writes_by_operation"]["rest.sobject.create"] == 40


def test_racing_creates_of_one_username_let_exactly_one_win(org: EmulatorHandle) -> None:
    profile = org.sf().query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]

    def create(_: int) -> str:
        try:
            org.sf().User.create(_body(profile, "race@eci-test.example"))
            return "created"
        except SalesforceMalformedRequest as e:
            content: Any = e.content
            return str(content[0]["errorCode"])

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(8)))
    assert sorted(outcomes) == ["DUPLICATE_USERNAME"] * 7 + ["created"]
