"""`sf org login` in its three non-interactive forms, then `sf org display`, against the emulator."""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.keys import rsa_key_and_certificate
from tests.support.sf_cli import Sf

CONSUMER_KEY = "3MVG9acceptanceJwtConsumerKey000000000000000000000000000000000000000"


def test_login_access_token_then_org_display(sf: Sf, sf_org: EmulatorHandle) -> None:
    login = sf.login("emu")
    assert login["username"] == sf_org.username
    assert login["orgId"].startswith("00D")
    assert login["instanceApiVersion"] == "63.0"
    shown = sf("org", "display", "--target-org", "emu")["result"]
    assert shown["connectedStatus"] == "Connected"
    assert shown["username"] == sf_org.username
    assert shown["instanceUrl"].rstrip("/") == sf_org.instance_url


def test_login_sfdx_url(sf: Sf, sf_org: EmulatorHandle) -> None:
    # The refresh-token grant goes to /services/oauth2/token with a chunked body (jsforce's form post).
    auth_file = sf.home / "auth-url.txt"
    auth_file.write_text(sf_org.sfdx_auth_url())
    result = sf("org", "login", "sfdx-url", "--sfdx-url-file", str(auth_file), "--alias", "by-url")["result"]
    assert result["username"] == sf_org.username
    shown = sf("org", "display", "--target-org", "by-url")["result"]
    assert shown["connectedStatus"] == "Connected"


def test_login_jwt_with_the_connected_apps_certificate(sf: Sf, sf_org: EmulatorHandle) -> None:
    private_key, certificate = rsa_key_and_certificate("sf-cli-jwt")
    mdapi: Any = sf_org.mdapi()
    mdapi.ConnectedApp.create(
        [
            mdapi.ConnectedApp(
                fullName="CLI_JWT_App",
                label="CLI JWT App",
                contactEmail="admin@example.com",
                oauthConfig=mdapi.ConnectedAppOauthConfig(
                    callbackUrl="http://localhost:1717/OauthRedirect",
                    consumerKey=CONSUMER_KEY,
                    certificate=certificate,
                    scopes=["Api", "RefreshToken"],
                ),
            )
        ]
    )
    key_file = sf.home / "server.key"
    key_file.write_text(private_key)
    result = sf(
        "org",
        "login",
        "jwt",
        "--client-id",
        CONSUMER_KEY,
        "--jwt-key-file",
        str(key_file),
        "--username",
        sf_org.username,
        "--instance-url",
        sf_org.instance_url,
        "--alias",
        "by-jwt",
    )["result"]
    assert result["username"] == sf_org.username
    shown = sf("org", "display", "--target-org", "by-jwt")["result"]
    assert shown["connectedStatus"] == "Connected"
