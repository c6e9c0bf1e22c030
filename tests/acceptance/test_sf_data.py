"""`sf data query` (relationship fields; the CLI also asks `columns=true`) and `sf data create record`."""

from __future__ import annotations

import pytest

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.sf_cli import Sf


@pytest.fixture(scope="module")
def logged_in(sf: Sf) -> Sf:
    sf.login("emu")
    return sf


def test_query_with_relationship_fields(logged_in: Sf, sf_org: EmulatorHandle) -> None:
    result = logged_in(
        "data", "query", "--target-org", "emu", "--query", "SELECT Id, Username, Profile.Name FROM User"
    )["result"]
    assert result["totalSize"] == 1 and result["done"] is True
    (user,) = result["records"]
    assert user["Username"] == sf_org.username
    assert user["Profile"]["Name"] == "System Administrator"


def test_create_record_then_query_it_back(logged_in: Sf) -> None:
    created = logged_in(
        "data",
        "create",
        "record",
        "--target-org",
        "emu",
        "--sobject",
        "PermissionSet",
        "--values",
        "Name=CLI_Created Label='Created by sf'",
    )["result"]
    assert created["success"] is True and created["id"].startswith("0PS")
    found = logged_in(
        "data",
        "query",
        "--target-org",
        "emu",
        "--query",
        "SELECT Id, Label FROM PermissionSet WHERE Name = 'CLI_Created'",
    )["result"]["records"]
    assert [(r["Id"], r["Label"]) for r in found] == [(created["id"], "Created by sf")]


def test_query_of_an_unknown_field_fails_with_salesforces_error(logged_in: Sf) -> None:
    answer = logged_in("data", "query", "--target-org", "emu", "--query", "SELECT Nope FROM User", ok=False)
    assert answer["name"] == "INVALID_FIELD"
