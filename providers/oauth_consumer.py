"""The OAuth app's consumer key and secret, decided before the app exists (docs/contracts.md §3 "Wiring").

The guide is circular: the app's consumer key/secret go into the auth provider, whose callback URL goes back
into the app. This resource breaks the cycle by settling the key and secret first:

* If the OAuth app ``app_name`` already exists (a connected app or an external client app, per ``app_kind``;
  readMetadata says so), its key and secret are read from the Connect REST OAuth Credentials resources and
  ``adopted`` is True: ``GET apps/oauth/usage`` gives the app's ``identifier`` from its ``developerName``
  (Connect REST API guide, "OAuth Usage"; the same lookup sfdx-hardis does in ``externalClientAppUtils.ts``;
  for a connected app missing from that listing, its ConnectedApplication Id), ``GET
  apps/oauth/credentials/{appId}`` lists its consumers ("OAuth Credentials by App ID"), and ``GET
  apps/oauth/credentials/{appId}/{consumerId}?part=keyandsecret`` returns both ("OAuth Credentials by
  Consumer ID": "the secret value is returned only when specified in this parameter").
* Otherwise they are generated here with :mod:`secrets` and the app is later created with them — both
  ``ConnectedAppOauthConfig`` and ``ExtlClntAppGlobalOauthSettings`` accept ``consumerKey`` and
  ``consumerSecret`` at create (Metadata API Developer Guide; Help "Configure the External Client App Global
  OAuth Settings": both "optional", i.e. Salesforce generates them only when they are not given). The key is
  64 letters and digits, the secret 64 upper-case hex digits like the ones Salesforce generates; a provided
  secret must be at least 8 alphanumeric characters (jsforce example of ``ConnectedApp`` creation with
  ``consumerSecret``), which both satisfy.

It never writes to Salesforce; delete does nothing there. Both values are secret outputs.

Calls: create 1 (readMetadata) when the app is new, 4 when it exists; no-op 0; refresh 0 for generated
credentials (this resource is their source: the app's own read shows any drift of the key), 1 for adopted
ones (their ``keyandsecret``, so a secret rotated in Setup reaches the auth provider on the next ``up``);
delete 0.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pulumi.dynamic as dyn
from pydantic import Field, field_validator

import salesforce
from providers import guide
from providers.kit import (
    COMPUTED,
    DEVELOPER_NAME,
    NAME,
    PROVIDER_KEY,
    REPLACE,
    SECRET_OUTPUT,
    ArtifactInputs,
    ArtifactResource,
    InputError,
    NonArtifactProvider,
    unwrap,
)
from salesforce import SalesforceError, soql_quote, url_quote

AppKind = Literal["ConnectedApp", "ExternalClientApp"]
_KINDS: dict[str, AppKind] = {"connectedapp": "ConnectedApp", "externalclientapp": "ExternalClientApp"}


def generate_consumer_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(64))


def generate_consumer_secret() -> str:
    return secrets.token_hex(32).upper()


class OAuthConsumerInputs(ArtifactInputs):
    app_name: Annotated[str, NAME, REPLACE] = Field(
        default=guide.CONNECTED_APP_NAME, pattern=DEVELOPER_NAME, max_length=40
    )
    app_kind: Annotated[AppKind, REPLACE] = "ConnectedApp"
    consumer_key: Annotated[str | None, COMPUTED, SECRET_OUTPUT] = None
    consumer_secret: Annotated[str | None, COMPUTED, SECRET_OUTPUT] = None
    #: Set when an existing app was adopted (its credentials are re-read by refresh).
    app_id: Annotated[str | None, COMPUTED] = None
    consumer_id: Annotated[str | None, COMPUTED] = None

    @field_validator("app_kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        # The stack config spells it connectedApp / externalClientApp; the contract ConnectedApp / ...
        return _KINDS.get(str(value).lower(), value)


class OAuthConsumerProvider(NonArtifactProvider):
    kind = "OAuthConsumer"
    inputs_model = OAuthConsumerInputs

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        inputs = self._validated(props)
        found = self._existing_app(inputs)
        if found is None:
            key, secret = generate_consumer_key(), generate_consumer_secret()
            salesforce.register_secret(key)
            salesforce.register_secret(secret)
            app_id = consumer_id = None
        else:
            app_id, consumer_id = found
            key, secret = self._credentials(inputs, app_id, consumer_id)
        outs = self._outs(inputs, key, secret, app_id, consumer_id, adopted=found is not None, olds=None)
        return dyn.CreateResult(f"{inputs['app_kind']}:{inputs['app_name']}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        olds, _ = unwrap({k: v for k, v in props.items() if k != PROVIDER_KEY})
        self.check_org(olds)
        inputs = {n: olds.get(n) for n in self.input_names()}
        key, secret = olds.get("consumer_key"), olds.get("consumer_secret")
        if olds.get("adopted") and olds.get("app_id") and olds.get("consumer_id"):
            try:
                key, secret = self._credentials(olds, olds["app_id"], olds["consumer_id"])
            except SalesforceError as err:
                # The app is gone: the credentials we hold are still what its re-creation will use.
                if not err.not_found:
                    raise
        outs = self._outs(
            inputs,
            key,
            secret,
            olds.get("app_id"),
            olds.get("consumer_id"),
            adopted=bool(olds.get("adopted")),
            olds=olds,
        )
        return dyn.ReadResult(id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        # Only delete_adopted can change in place (the app's name and kind replace): nothing to call.
        old, _ = unwrap(olds)
        self.check_org(old)
        inputs = self._validated(news)
        outs = self._outs(
            inputs,
            old.get("consumer_key"),
            old.get("consumer_secret"),
            old.get("app_id"),
            old.get("consumer_id"),
            adopted=bool(old.get("adopted")),
            olds=old,
        )
        return dyn.UpdateResult(outs)

    def _outs(
        self,
        inputs: Mapping[str, Any],
        key: Any,
        secret: Any,
        app_id: Any,
        consumer_id: Any,
        *,
        adopted: bool,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        outs = self.common_outputs(inputs, adopted=adopted, olds=olds)
        outs.update(consumer_key=key, consumer_secret=secret, app_id=app_id, consumer_id=consumer_id)
        return self._wrap_secret_outputs(outs)

    # --- Connect REST ---
    def _existing_app(self, inputs: Mapping[str, Any]) -> tuple[str, str] | None:
        """(app id, consumer id) of the existing app, or None when there is no such app.

        Existence is read from the Metadata API (authoritative, one call, all a new app costs); only an app
        that exists is then looked up in the OAuth Usage listing for its identifier."""
        artifact = self.artifact(inputs)
        name = str(inputs["app_name"])
        connected = inputs["app_kind"] == "ConnectedApp"
        type_name = "ConnectedApp" if connected else "ExternalClientApplication"
        record = self.client.metadata_read(type_name, [name], artifact=artifact)[0]
        if record is None:
            return None
        if connected and not record.get("oauthConfig"):
            raise self._no_consumer(inputs)
        app_id = self._usage_identifier(inputs)
        if app_id is None and connected:
            # A connected app's identifier is its ConnectedApplication Id, whose Name is the app's label.
            label = soql_quote(str(record.get("label") or name))
            rows = self.client.query(
                f"SELECT Id FROM ConnectedApplication WHERE Name = {label}", artifact=artifact
            )
            app_id = str(rows[0]["Id"]) if rows else None
        if app_id is None:
            raise InputError(
                f"{name} exists but Salesforce's OAuth Usage listing does not show it, so its consumer key "
                "and secret cannot be read",
                artifact=artifact,
                hint="check that the connecting user may view OAuth apps and their consumer secrets (View "
                "Client Secret), then run `pulumi up` again",
            )
        listing = self.client.rest("GET", f"apps/oauth/credentials/{url_quote(app_id)}", artifact=artifact)
        consumers = (listing or {}).get("consumers") or []
        if not consumers:
            raise self._no_consumer(inputs)
        return app_id, str(consumers[0]["id"])

    def _usage_identifier(self, inputs: Mapping[str, Any]) -> str | None:
        usage = self.client.rest("GET", "apps/oauth/usage", artifact=self.artifact(inputs)) or {}
        name = str(inputs["app_name"]).lower()
        for app in usage.get("apps") or []:
            kind = _kind_of(app.get("appType"))
            if str(app.get("developerName", "")).lower() == name and kind in (None, inputs["app_kind"]):
                return str(app["identifier"])
        return None

    def _no_consumer(self, inputs: Mapping[str, Any]) -> InputError:
        return InputError(
            f"{inputs['app_name']} exists but has no OAuth consumer (OAuth settings not enabled)",
            artifact=self.artifact(inputs),
            hint="enable OAuth on it in Setup → App Manager, or delete it so the stack creates it, then "
            "run `pulumi up` again",
        )

    def _credentials(self, inputs: Mapping[str, Any], app_id: str, consumer_id: str) -> tuple[str, str]:
        body = self.client.rest(
            "GET",
            f"apps/oauth/credentials/{url_quote(app_id)}/{url_quote(consumer_id)}",
            artifact=self.artifact(inputs),
            params={"part": "keyandsecret"},
        )
        key, secret = (body or {}).get("key"), (body or {}).get("secret")
        salesforce.register_secret(key)
        salesforce.register_secret(secret)
        if not key or not secret:
            raise InputError(
                f"Salesforce did not return the consumer secret of {inputs['app_name']}",
                artifact=self.artifact(inputs),
                hint="the connecting user needs the View Client Secret permission, and for an external "
                'client app the org setting "Allow access to External Client App consumer secrets via REST '
                'API" (ExternalClientAppSettings.enableClientSecretInRestApiAccess) must be on',
            )
        return str(key), str(secret)


def _kind_of(app_type: Any) -> AppKind | None:
    """The usage resource's ``appType`` as an app kind; None when it names neither (then it is not checked,
    rather than refusing an app over a spelling this code does not know)."""
    text = "".join(c for c in str(app_type or "").lower() if c.isalpha())
    if "external" in text:
        return "ExternalClientApp"
    if "connected" in text:
        return "ConnectedApp"
    return None


class OAuthConsumer(ArtifactResource, module="eci-aircall", name="OAuthConsumer"):
    """The consumer key and secret for ``app_name``; both outputs are secret."""

    provider_class = OAuthConsumerProvider
