"""The server adds little per request: keep-alive HTTP/1.1, no Nagle delay, no per-request heavy work."""

from __future__ import annotations

import http.client
import ssl
import statistics
import time

from devtools.sf_emulator.client import EmulatorHandle


def test_rest_query_round_trip_median_is_a_few_milliseconds(org: EmulatorHandle) -> None:
    sf = org.sf()
    sf.query("SELECT Id FROM Organization")  # connection set up
    samples = []
    for _ in range(30):
        t0 = time.perf_counter()
        sf.query("SELECT Id, Username, Profile.Name FROM User")
        samples.append(time.perf_counter() - t0)
    # Typically ~1-3 ms; a Nagle/delayed-ACK stall alone would cost >= 40 ms per call (Linux minimum delayed
    # ACK), so the bound catches that regression while leaving room for a loaded CI box.
    assert statistics.median(samples) < 0.035


def test_one_connection_serves_many_requests(org: EmulatorHandle) -> None:
    ctx = ssl.create_default_context(cafile=org.ca_cert)
    conn = http.client.HTTPSConnection("127.0.0.1", int(org.instance_url.rsplit(":", 1)[1]), context=ctx)
    headers = {"Authorization": f"Bearer {org.access_token}"}
    sockets = []
    for _ in range(6):
        conn.request("GET", "/services/data/v63.0/limits", headers=headers)
        response = conn.getresponse()
        assert response.status == 200 and response.read()
        sockets.append(conn.sock)
    conn.close()
    # HTTP/1.1 keep-alive: the same TLS socket carried every request.
    assert all(sock is sockets[0] for sock in sockets) and sockets[0] is not None
