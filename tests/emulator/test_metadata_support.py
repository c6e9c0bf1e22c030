"""The in-process Metadata client of tests/support/in_process_mdapi.py really goes through the handler."""

from __future__ import annotations

from simple_salesforce.metadata import SfdcMetadataApi

from tests.support.in_process_mdapi import InProcessTransport, connected_app


def test_in_process_transport_really_reaches_the_handler(mdapi: SfdcMetadataApi) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    transport = mdapi._client.transport
    assert isinstance(transport, InProcessTransport)
    assert len(transport.requests) == 1 and b"createMetadata" in transport.requests[0]
