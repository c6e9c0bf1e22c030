"""The inputs the provider tests give the guide's artifacts (guide: "Create the Named Credential for Aircall",
"Create a Connected App", "Create the Named Credential for ECI"), as keyword arguments of the provider's
`check`, or as `test:resources` of the provider test program (`oauth_chain`)."""

from __future__ import annotations

from typing import Any

AIRCALL_TOKEN = "AIRCALL-TOKEN-engine-chain-3c1f"


def aircall(**overrides: Any) -> dict[str, Any]:
    """The `Aircall` named credential (password authentication with the Aircall API ID and token)."""
    return {
        "full_name": "Aircall",
        "label": "Aircall",
        "endpoint": "https://api.aircall.io/",
        "protocol": "Password",
        "username": "aircall-api-id",
        "password": AIRCALL_TOKEN,
        "allow_merge_fields_in_header": True,
        "allow_merge_fields_in_body": True,
        **overrides,
    }


def eci(org: Any, **overrides: Any) -> dict[str, Any]:
    """`ECI_Named_Credential`: OAuth through `ECI_Auth_Provider` to the org itself."""
    return {
        "full_name": "ECI_Named_Credential",
        "label": "ECI Named Credential",
        "endpoint": f"{org.instance_url}/",
        "protocol": "Oauth",
        "auth_provider": "ECI_Auth_Provider",
        "oauth_scope": "refresh_token web api content",
        **overrides,
    }


def oauth_app(org: Any, *, consumer_key: str, consumer_secret: str, **overrides: Any) -> dict[str, Any]:
    """The connected app's or the external client app's inputs, calling back to `ECI_Auth_Provider`."""
    return {
        "contact_email": "admin@example.com",
        "callback_url": f"{org.instance_url}/services/authcallback/ECI_Auth_Provider",
        "consumer_key": consumer_key,
        "consumer_secret": consumer_secret,
        **overrides,
    }


def oauth_chain(
    org: Any, app_type: str = "connected_app.ConnectedApp", app_kind: str = "ConnectedApp"
) -> list[dict[str, Any]]:
    """The guide's OAuth chain as `test:resources`: consumer → auth provider → app, whose callback URL is the
    auth provider's, and both named credentials. The Aircall password is the secret config `aircallToken`."""
    consumer = {
        "consumer_key": "$ref:consumer.consumer_key",
        "consumer_secret": "$ref:consumer.consumer_secret",
    }
    return [
        {"name": "consumer", "type": "oauth_consumer.OAuthConsumer", "inputs": {"app_kind": app_kind}},
        {"name": "auth", "type": "auth_provider.AuthProvider", "inputs": dict(consumer)},
        {
            "name": "app",
            "type": app_type,
            "inputs": oauth_app(org, callback_url="$ref:auth.callback_url", **consumer),
        },
        {
            "name": "aircall",
            "type": "named_credential.NamedCredential",
            "inputs": aircall(password="$secret:aircallToken"),
        },
        {
            "name": "eci",
            "type": "named_credential.NamedCredential",
            "inputs": eci(org, auth_provider="$ref:auth.full_name"),
        },
    ]
