"""The ECI OAuth app as an external client app — the path for orgs that cannot create connected apps.

Since Spring '26 Salesforce blocks creating new connected apps unless Support re-enables it (Salesforce Help
005228017) and recommends external client apps (ECAs) instead. An ECA with OAuth is four Metadata API
components (Metadata API Developer Guide, "ExternalClientApplication", "ExtlClntAppOauthSettings",
"ExtlClntAppGlobalOauthSettings", "ExtlClntAppOauthConfigurablePolicies"; API 59.0+), which this one resource
manages together — created app first (the three settings name it in ``externalClientApplication``), deleted in
reverse:

=====================  ================  ==============================================================
component (fullName)   file suffix       what the guide's settings become
=====================  ================  ==============================================================
``{app}``              ``.eca``          label, contact email, ``distributionState`` Local
``{app}_oauth``        ``.ecaOauth``     ``commaSeparatedOauthScopes`` "Api, Content, RefreshToken, Web"
``{app}_glbloauth``    ``.ecaGlblOauth`` callback URL, consumer key/secret, ``isConsumerSecretOptional``
                                         false (secret required for the web server flow),
                                         ``isSecretRequiredForRefreshToken`` true
``{app}_oauthPlcy``    ``.ecaOauthPlcy`` ``permittedUsersPolicyType`` AdminApprovedPreAuthorized with
                                         ``commaSeparatedProfile``, ``ipRelaxationPolicyType`` Bypass,
                                         ``refreshTokenPolicyType`` SpecificLifetime 365 ``Days``
=====================  ================  ==============================================================

The value spellings follow the Metadata API guide's ExtlClntAppOauthConfigurablePolicies page (ipRelaxation
values Enforce / Bypass / Bypass_2factor / Enforce_RelaxRefresh; PermittedUsersPolicyType and
RefreshTokenPolicyType enums in the WSDL) and retrieved ``.ecaOauthPlcy-meta.xml`` files
(``<refreshTokenValidityUnit>Days``). The settings' fullNames follow the ``{app}_oauth`` /
``{app}_glbloauth`` / ``{app}_oauthPlcy`` pattern of the ECA files public projects retrieve; an ECA made in
Setup under other names is adopted only by its app component, and its settings are then created alongside.

Consumer key and secret: ``ExtlClntAppGlobalOauthSettings`` accepts both at create (Help, "Configure the
External Client App Global OAuth Settings": both optional), so the ECA takes the key and secret the
:mod:`providers.oauth_consumer` generated, exactly like the connected app — the wiring needs no change. The
key is not sent on update (changing it is a rotation, ``shouldRotateConsumerKey``) and the secret is
write-only, so a changed key or secret replaces the ECA.

A failure part-way through a create removes the components this create already made (reverse order) before
the error is raised, so a failed ``up`` leaves no half-built app behind to be mistaken for an existing one.

Calls: create 1 read + 4 creates (Metadata API create calls take one type each); refresh 4 reads; update 4
reads + one update per component that differs; delete 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.kit import Live, merge
from providers.oauth_app import OAuthApp, OAuthAppProvider
from salesforce import SalesforceError

#: (record key, Metadata type, fullName suffix) in creation order.
COMPONENTS: tuple[tuple[str, str, str], ...] = (
    ("app", "ExternalClientApplication", ""),
    ("oauth", "ExtlClntAppOauthSettings", "_oauth"),
    ("global", "ExtlClntAppGlobalOauthSettings", "_glbloauth"),
    ("policies", "ExtlClntAppOauthConfigurablePolicies", "_oauthPlcy"),
)


def split_list(value: Any) -> list[str]:
    return sorted({part.strip() for part in str(value or "").split(",") if part.strip()})


def join_list(values: Any) -> str:
    return ", ".join(sorted(values or []))


def _clean(record: Any) -> Any:
    """A record without empty values, for comparing what is live with what we would write."""
    if isinstance(record, Mapping):
        return {k: _clean(v) for k, v in record.items() if v not in (None, [], {}) and k != "fullName"}
    return record


class ExternalClientAppProvider(OAuthAppProvider):
    kind = "ExternalClientApplication"
    listing_group = 2
    create_only_paths = ("global.consumerKey", "global.consumerSecret")

    # --- mapping ---
    def to_salesforce(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        record = super().to_salesforce(inputs, creating=creating)
        app = str(inputs["full_name"])
        for key, _type, suffix in COMPONENTS:
            part = record.setdefault(key, {})
            part["fullName"] = app + suffix
            if key != "app":
                part["externalClientApplication"] = app
                part["label"] = app + suffix
        record["app"]["distributionState"] = "Local"
        record["oauth"]["commaSeparatedOauthScopes"] = join_list(inputs["scopes"])
        record["policies"]["commaSeparatedProfile"] = join_list(inputs["profiles"]) or None
        record["global"]["isConsumerSecretOptional"] = not inputs["require_secret_for_web_server_flow"]
        record["policies"].update(
            refreshTokenPolicyType="SpecificLifetime",
            refreshTokenValidityPeriod=inputs["refresh_token_validity_days"],
            refreshTokenValidityUnit="Days",
        )
        return record

    def from_salesforce(self, record: Mapping[str, Any]) -> dict[str, Any]:
        values = super().from_salesforce(record)
        glbl = record.get("global") or {}
        policies = record.get("policies") or {}
        values["scopes"] = split_list(values.get("scopes"))
        values["profiles"] = split_list(values.get("profiles"))
        values.update(self.secret_flags(glbl))
        values["permitted_users"] = policies.get("permittedUsersPolicyType") or "AllSelfAuthorized"
        policy, period = policies.get("refreshTokenPolicyType"), policies.get("refreshTokenValidityPeriod")
        unit = str(policies.get("refreshTokenValidityUnit") or "")
        if policy == "SpecificLifetime" and unit.lower() == "days" and period is not None:
            values["refresh_token_validity_days"] = int(period)
        else:
            # Another policy (Infinite, other units ...) shows as drift against the guide's 365 days.
            values["refresh_token_validity_days"] = (
                " ".join(str(p) for p in (policy, period, unit) if p) or None
            )
        return values

    # --- the four components as one ---
    def _read_all(self, app_name: str, artifact: str, app: dict[str, Any] | None = None) -> Live | None:
        if app is None:
            app = self.client.metadata_read("ExternalClientApplication", [app_name], artifact=artifact)[0]
        if app is None:
            return None
        raw: dict[str, Any] = {"app": app}
        for key, type_name, suffix in COMPONENTS[1:]:
            raw[key] = self.client.metadata_read(type_name, [app_name + suffix], artifact=artifact)[0]
        return Live(id=str(app.get("fullName") or app_name), values=self.from_salesforce(raw), raw=raw)

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        live = self._read_all(self.full_name(inputs), self.artifact(inputs))
        self.check_adopted_key(inputs, live)
        return live

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        return self._read_all(id_, f"ExternalClientApp {id_}")

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        artifact = self.artifact(inputs)
        done: list[tuple[str, str]] = []
        try:
            for key, type_name, _suffix in COMPONENTS:
                self.client.metadata_create(type_name, [record[key]], artifact=artifact)
                done.append((type_name, record[key]["fullName"]))
        except SalesforceError as err:
            if done and err.duplicate:
                # A later part's name is taken (a leftover of a cut-short delete, say) after this create
                # made the earlier parts: the app is this stack's own, so the base converges with
                # adopted=False. (A DUPLICATE answered to the chokepoint's retry of a lost reply already
                # carries uncertain_write: salesforce._metadata_save checks SaveResults inside the retry.)
                err.uncertain_write = True
            if not done or err.duplicate:
                raise  # nothing of ours to undo, or the base class converges on what is there
            for type_name, full_name in reversed(done):
                try:
                    self.client.metadata_delete(type_name, [full_name], artifact=artifact)
                except SalesforceError as undo_err:
                    err.hint = (
                        f"{err.hint}; could not remove the partly created {type_name} {full_name} "
                        f"({undo_err.error_code}): delete it in Setup, then run `pulumi up` again"
                    ).lstrip("; ")
            raise
        return self.full_name(inputs)

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        if live is None:
            live = self.read_live(id_, inputs)
        raw = live.raw if live is not None else {}
        artifact = self.artifact(inputs)
        for key, type_name, _suffix in COMPONENTS:
            current = raw.get(key)
            if current is None:
                # A part made outside this stack may be missing (or a create was cut short): add it.
                self.client.metadata_create(type_name, [record[key]], artifact=artifact)
                continue
            desired = merge(current, record[key])
            for path in self.create_only_paths:
                prefix, _, leaf = path.partition(".")
                if prefix == key:
                    desired.pop(leaf, None)
            if _clean(desired) != _clean({k: v for k, v in current.items() if k in desired}):
                desired["fullName"] = current.get("fullName") or record[key]["fullName"]
                self.client.metadata_update(type_name, [desired], artifact=artifact)

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        artifact = f"ExternalClientApp {id_}"
        for _key, type_name, suffix in reversed(COMPONENTS):
            try:
                self.client.metadata_delete(type_name, [id_ + suffix], artifact=artifact)
            except SalesforceError as err:
                if not err.not_found:
                    raise

    def needs_write(self, inputs: Mapping[str, Any], live: Live, *, adopted: bool = True) -> bool:
        return any(live.raw.get(key) is None for key, _t, _s in COMPONENTS) or super().needs_write(
            inputs, live, adopted=adopted
        )

    def artifact(self, inputs: Mapping[str, Any]) -> str:
        name = inputs.get(self.name_field)
        return f"ExternalClientApp {name}" if isinstance(name, str) else "ExternalClientApp"


class ExternalClientApp(OAuthApp, module="eci-aircall", name="ExternalClientApp"):
    """``ECI_Connected_App`` as an external client app; same inputs and outputs as the connected app."""

    provider_class = ExternalClientAppProvider
