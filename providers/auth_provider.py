"""The ECI auth provider (guide: "Add ECI as an Authorized Provider").

Metadata type ``AuthProvider`` (Metadata API Developer Guide, "AuthProvider"): ``fullName`` is the URL suffix
(``ECI_Auth_Provider``), ``friendlyName`` the name shown in Setup, ``providerType`` ``Salesforce``;
``consumerKey`` / ``consumerSecret`` are the OAuth app's credentials (from :mod:`providers.oauth_consumer`).
``consumerSecret`` is write-only (readMetadata never returns it), so state keeps only its salted hash.

``callback_url`` is what Setup shows after saving: ``{My Domain URL}/services/authcallback/{URL suffix}``
(Salesforce Help, "Configure a Salesforce Authentication Provider"). Neither the metadata type nor the
``AuthProvider`` sObject has a callback field, so it is computed. The My Domain URL is the connection's
instance URL: every org has a My Domain since Winter '23 and the OAuth token response (and ``sf org
display``) gives ``instance_url`` as that My Domain URL (Help, "My Domain"). That costs no call at all for an
access token or SFDX auth URL connection (the URL is in the configuration) and nothing extra for JWT (the
login that the create needs anyway returns it) — cheaper than ``SELECT Domain FROM Domain``, and it cannot
disagree with the host the org answers on.

Replace keys: the URL suffix (it is the identity and part of the callback URL) and the provider type (Setup
cannot change the type of a saved provider).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import pulumi
from pydantic import Field

from providers import guide
from providers.base import DEVELOPER_NAME, AdoptableInputs, ArtifactResource, Live, MetadataProvider
from providers.config_keys import ADOPT_SHARED_HINT

# Metadata API v63.0 WSDL, simpleType AuthProviderType.
AuthProviderType = Literal[
    "Facebook", "Janrain", "Salesforce", "OpenIdConnect", "MicrosoftACS", "LinkedIn", "Twitter", "Google",
    "GitHub", "Custom", "Apple", "Evergreen", "Slack", "HubSpot", "Microsoft", "MuleSoft", "Bitbucket",
]  # fmt: skip


def callback_url(my_domain_url: str, url_suffix: str) -> str:
    return f"{my_domain_url.rstrip('/')}/services/authcallback/{url_suffix}"


class AuthProviderInputs(AdoptableInputs):
    full_name: str = Field(default=guide.AUTH_PROVIDER_NAME, pattern=DEVELOPER_NAME, max_length=32)
    friendly_name: str = Field(default=guide.AUTH_PROVIDER_LABEL, min_length=1, max_length=32)
    provider_type: AuthProviderType = "Salesforce"
    consumer_key: str = Field(min_length=1, max_length=256)
    consumer_secret: str = Field(min_length=1, max_length=256)


class AuthProviderProvider(MetadataProvider):
    kind = "AuthProvider"
    adopt_opt_in = ADOPT_SHARED_HINT
    inputs_model = AuthProviderInputs
    name_field = "full_name"
    field_map: ClassVar[Mapping[str, str]] = {
        "full_name": "fullName",
        "friendly_name": "friendlyName",
        "provider_type": "providerType",
        "consumer_key": "consumerKey",
        "consumer_secret": "consumerSecret",
    }
    secret_fields = frozenset({"consumer_secret"})
    # The key travels with its secret: kept secret in state and outputs like the OAuthConsumer's.
    secret_outputs = frozenset({"consumer_key"})
    replace_keys = frozenset({"full_name", "provider_type"})
    computed = ("callback_url",)

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return {"callback_url": callback_url(self.client.instance_url, artifact_id)}


class AuthProvider(ArtifactResource, module="eci-aircall", name="AuthProvider"):
    """``ECI_Auth_Provider``; ``callback_url`` goes into the OAuth app (connected or external client app)."""

    full_name: pulumi.Output[str]
    friendly_name: pulumi.Output[str]
    provider_type: pulumi.Output[str]
    consumer_key: pulumi.Output[str]
    callback_url: pulumi.Output[str]

    provider_class = AuthProviderProvider
