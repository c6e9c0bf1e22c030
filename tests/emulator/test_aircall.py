"""The fake Aircall public API: ping with Basic auth, 401, rate limit with Aircall's headers."""

from __future__ import annotations

from devtools.sf_emulator.client import EmulatorHandle


def test_ping_with_the_printed_credentials_answers_pong(org: EmulatorHandle) -> None:
    r = org.session().get(f"{org.aircall_url}/ping", auth=(org.aircall_api_id, org.aircall_api_token))
    assert r.status_code == 200 and r.json() == {"ping": "pong"}
    assert r.headers["X-AircallApi-Limit"] == "60" and r.headers["X-AircallApi-Remaining"] == "59"


def test_wrong_credentials_get_401(org: EmulatorHandle) -> None:
    s = org.session()
    assert s.get(f"{org.aircall_url}/ping", auth=(org.aircall_api_id, "wrong")).status_code == 401
    assert s.get(f"{org.aircall_url}/ping").status_code == 401


def test_more_than_60_requests_a_minute_get_429_with_rate_limit_headers(org: EmulatorHandle) -> None:
    s = org.session()
    auth = (org.aircall_api_id, org.aircall_api_token)
    statuses = [s.get(f"{org.aircall_url}/ping", auth=auth).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
    r = s.get(f"{org.aircall_url}/ping", auth=auth)
    assert r.status_code == 429
    assert r.headers["X-AircallApi-Remaining"] == "0" and int(r.headers["X-AircallApi-Reset"]) > 0
    # Aircall calls are not Salesforce API calls.
    assert org.calls()["total"] == 0
