"""The fake Aircall public API: Basic auth (401 / 403), ping, the users list and its pages, the rate limit."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.sf_emulator.client import EmulatorHandle


def _get(org: EmulatorHandle, path: str, auth: Any = "key", **params: Any) -> Any:
    key = (org.aircall_api_id, org.aircall_api_token) if auth == "key" else auth
    return org.session().get(f"{org.aircall_url}/{path}", auth=key, params=params or None)


def test_ping_with_the_printed_credentials_answers_pong(org: EmulatorHandle) -> None:
    r = _get(org, "ping")
    assert r.status_code == 200 and r.json() == {"ping": "pong"}
    assert r.headers["X-AircallApi-Limit"] == "60" and r.headers["X-AircallApi-Remaining"] == "59"


@pytest.mark.parametrize("path", ["ping", "users"])
def test_no_credentials_get_401_and_a_wrong_key_403(org: EmulatorHandle, path: str) -> None:
    missing = _get(org, path, auth=None)
    assert missing.status_code == 401
    assert missing.json() == {"error": "Unauthorized", "troubleshoot": "Check your API key"}
    wrong = _get(org, path, auth=(org.aircall_api_id, "wrong"))
    assert wrong.status_code == 403 and wrong.json() == {"message": "Forbidden"}
    assert _get(org, path, auth=("someone-else", org.aircall_api_token)).status_code == 403


def test_the_users_control_answers_ids_and_the_list_serves_them(org: EmulatorHandle) -> None:
    ids = org.add_aircall_users(
        [{"email": "Ana@Acme.example", "name": "Ana Lopez"}, {"email": "bo@acme.example", "name": "Bo Li"}]
    )
    assert len(ids) == 2 and ids[0] < ids[1] and all(isinstance(i, int) for i in ids)
    body = _get(org, "users").json()
    ana = body["users"][0]
    assert ana["id"] == ids[0] and ana["email"] == "Ana@Acme.example" and ana["name"] == "Ana Lopez"
    assert ana["direct_link"] == f"{org.aircall_url}/users/{ids[0]}"
    assert set(ana) == {
        "id",
        "direct_link",
        "name",
        "email",
        "available",
        "availability_status",
        "created_at",
        "time_zone",
        "language",
        "wrap_up_time",
    }
    assert ana["created_at"].endswith("Z")
    assert body["meta"] == {
        "count": 2,
        "total": 2,
        "current_page": 1,
        "per_page": 20,
        "next_page_link": None,
        "previous_page_link": None,
    }


def test_following_next_page_link_until_null_lists_every_user_once(org: EmulatorHandle) -> None:
    ids = org.add_aircall_users([{"email": f"rep{n}@acme.example", "name": f"Rep {n}"} for n in range(123)])
    seen: list[int] = []
    pages = 0
    url: str | None = f"{org.aircall_url}/users?per_page=50"
    session = org.session()
    while url:
        page = session.get(url, auth=(org.aircall_api_id, org.aircall_api_token)).json()
        seen += [u["id"] for u in page["users"]]
        pages += 1
        assert page["meta"]["per_page"] == 50 and page["meta"]["total"] == 123
        url = page["meta"]["next_page_link"]
    assert seen == ids and pages == 3
    assert org.calls()["by_operation"]["aircall.users"] == 3


def test_per_page_is_at_most_50_and_previous_links_go_back(org: EmulatorHandle) -> None:
    org.add_aircall_users([{"email": f"rep{n}@acme.example", "name": f"Rep {n}"} for n in range(60)])
    meta = _get(org, "users", per_page=500).json()["meta"]
    assert meta["per_page"] == 50 and meta["count"] == 50
    second = _get(org, "users", per_page=50, page=2).json()
    assert second["meta"]["count"] == 10 and second["meta"]["next_page_link"] is None
    assert second["meta"]["previous_page_link"] == f"{org.aircall_url}/users?page=1&per_page=50"
    assert _get(org, "users", page=9).json()["users"] == []


def test_emails_are_unique_in_the_company(org: EmulatorHandle) -> None:
    org.add_aircall_users([{"email": "ana@acme.example", "name": "Ana"}])
    with pytest.raises(RuntimeError, match="400"):
        org.add_aircall_users([{"email": "ANA@acme.example", "name": "Ana again"}])
    with pytest.raises(RuntimeError, match="400"):
        org.add_aircall_users([{"name": "No email"}])


def test_reset_forgets_the_aircall_users(org: EmulatorHandle) -> None:
    org.add_aircall_users([{"email": "ana@acme.example", "name": "Ana"}])
    org.reset()
    assert _get(org, "users").json()["users"] == []


def test_past_the_rate_limit_429_with_aircalls_headers(org: EmulatorHandle) -> None:
    org.settings(aircall_rate_limit=3)
    statuses = [_get(org, "users" if n % 2 else "ping").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = _get(org, "users")
    assert r.status_code == 429
    assert r.headers["X-AircallApi-Limit"] == "3" and r.headers["X-AircallApi-Remaining"] == "0"
    assert int(r.headers["X-AircallApi-Reset"]) > 0 and int(r.headers["Retry-After"]) >= 1
    # Aircall calls are not Salesforce API calls.
    assert org.calls()["total"] == 0


def test_the_default_limit_is_60_a_minute(org: EmulatorHandle) -> None:
    statuses = [_get(org, "ping").status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


def test_other_paths_are_404(org: EmulatorHandle) -> None:
    assert _get(org, "calls").status_code == 404
    assert org.session().post(f"{org.aircall_url}/users", auth=(org.aircall_api_id, "x")).status_code == 404
