"""The emulator's Metadata API in-process, for the metadata/Connect tests: a real store ``Org`` and
simple-salesforce's own Metadata client wired to ``metadata_api.handle``; fixtures ``md_org`` and ``mdapi``
(registered from tests/conftest.py) and builders of the components those tests save.

The client is simple-salesforce's ``SfdcMetadataApi`` (the object behind ``sf.mdapi``), unmodified except
that its zeep transport hands the request bytes to the handler instead of opening a socket: requests are
built and responses parsed by exactly the code the providers run, without paying for HTTPS in every
behavioural test. The end-to-end tests over the emulator's HTTPS server live in
``tests/emulator/test_metadata_e2e.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.metadata import SfdcMetadataApi
from zeep.transports import Transport

from devtools.sf_emulator import metadata_api
from devtools.sf_emulator.store import Org

INSTANCE_URL = "https://127.0.0.1:8443"


class InProcessTransport(Transport):
    """A zeep transport that answers POSTs with ``metadata_api.handle`` on a given Org."""

    def __init__(self, org: Org) -> None:
        super().__init__()
        self.org = org
        self.requests: list[bytes] = []

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        body = message if isinstance(message, bytes) else str(message).encode()
        self.requests.append(body)
        status, payload = metadata_api.handle(self.org, body)
        response = requests.Response()
        response.status_code = status
        response._content = payload
        response.headers["Content-Type"] = "text/xml; charset=utf-8"
        response.url = address
        return response


@pytest.fixture(scope="session")
def _shared_mdapi() -> SfdcMetadataApi:
    # SfdcMetadataApi loads the WSDL in its constructor (as it does for sf.mdapi); once per test session.
    return SfdcMetadataApi(
        session=requests.Session(),
        session_id="00D!in-process",
        instance=INSTANCE_URL,
        metadata_url=f"{INSTANCE_URL}/services/Soap/m/63.0/",
        headers={},
        api_version="63.0",
    )


@pytest.fixture
def md_org(tmp_path: Path) -> Iterator[Org]:
    org = Org(tmp_path / "state", INSTANCE_URL)
    try:
        yield org
    finally:
        org.close()


@pytest.fixture
def mdapi(_shared_mdapi: SfdcMetadataApi, md_org: Org) -> SfdcMetadataApi:
    _shared_mdapi._client.transport = InProcessTransport(md_org)
    return _shared_mdapi


def connected_app(mdapi: SfdcMetadataApi, name: str = "ECI_Connected_App", **oauth: Any) -> Any:
    config = {"callbackUrl": f"{INSTANCE_URL}/services/authcallback/ECI_Auth_Provider", **oauth}
    return mdapi.ConnectedApp(
        fullName=name,
        label=name.replace("_", " "),
        contactEmail="admin@example.com",
        oauthConfig=mdapi.ConnectedAppOauthConfig(scopes=["Api", "Web", "RefreshToken", "Content"], **config),
        profileName=["Standard User", "System Administrator"],
    )


def custom_site(mdapi: SfdcMetadataApi, name: str = "VoiceConnector", **extra: Any) -> Any:
    fields: dict[str, Any] = {
        "fullName": name,
        "masterLabel": name,
        "active": True,
        "allowHomePage": False,
        "allowStandardIdeasPages": False,
        "allowStandardLookups": False,
        "allowStandardPortalPages": False,
        "allowStandardSearch": False,
        "browserXssProtection": True,
        "clickjackProtectionLevel": "SameOriginOnly",
        "contentSniffingProtection": True,
        "indexPage": "SiteLogin",
        "referrerPolicyOriginWhenCrossOrigin": True,
        "siteType": "Visualforce",
        "siteAdmin": "admin@eci-emulator.example",
        "siteGuestRecordDefaultOwner": "admin@eci-emulator.example",
    }
    fields.update(extra)
    return mdapi.CustomSite(**fields)


def save(mdapi: Any, operation: str, records: list[Any]) -> list[Any]:
    """Raw per-record results (simple-salesforce's helpers only raise on failure)."""
    return list(getattr(mdapi._service, operation)(records, _soapheaders=[mdapi._session_header]))


def auth_provider(mdapi: Any, name: str = "ECI_Auth_Provider", **extra: Any) -> Any:
    fields = {
        "fullName": name,
        "friendlyName": "ECI Auth Provider",
        "providerType": "Salesforce",
        "consumerKey": "3MVG9.key",
        "consumerSecret": "provider-secret-value",
        "defaultScopes": "refresh_token web api content",
        **extra,
    }
    return mdapi.AuthProvider(**fields)
