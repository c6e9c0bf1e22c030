"""The Salesforce site and its guest user (guide: "Set Up the Salesforce Site"; "Assign the Guest User
Permission Set" step 2, "Make sure this user is marked Active").

``CustomSite`` is the Metadata API type (Metadata API Developer Guide, "CustomSite"). Mapping of the guide's
form: Site Label → ``masterLabel``, Site Name → ``fullName``, Active → ``active``, Active Site Home Page →
``indexPage``, Clickjack Protection Level "Allow framing by the same origin only (Recommended)" →
``clickjackProtectionLevel`` ``SameOriginOnly`` (the WSDL's SiteClickjackProtectionLevel enum:
AllowAllFraming, External, SameOriginOnly, NoFraming), Default Record Owner → ``siteGuestRecordDefaultOwner``
(a username), and the site contact → ``siteAdmin`` (a username: in Setup "Site Contact" is a user lookup; the
contact *email* the guide mentions is that user's email — CustomSite has no email field, so ``contact_email``
is validated and kept in state, not written). The WSDL marks more booleans as required on create; they get
Setup's defaults for a new site ("Leave the other options as default").

Outputs: ``guest_user_id`` from ``SELECT GuestUserId, Subdomain, UrlPathPrefix FROM Site WHERE Name = ...``
(the Site sObject mirrors the component; Object Reference, "Site") and ``site_url`` =
``https://<Subdomain>.my.salesforce-sites.com[/<prefix>]`` (Help, "My Domain URL Formats": Salesforce Sites
are served from ``MyDomainName.my.salesforce-sites.com`` with enhanced domains).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from providers import guide
from providers.config.keys import ADOPT_SHARED_HINT
from providers.kit import (
    COMPUTED,
    FIXED,
    NAME,
    REPLACE,
    SF,
    AdoptableInputs,
    ArtifactInputs,
    ArtifactResource,
    Email,
    InputError,
    Live,
    MetadataProvider,
    SObjectProvider,
)
from salesforce import SalesforceError, soql_quote

SITE_STEP = (
    "guide: Set Up the Salesforce Site, step 2 — in Setup → Sites select the checkbox and click Register My "
    "Salesforce Site Domain, then run `pulumi up` again"
)

# Setup's defaults for a new site, for the fields the WSDL requires on create.
CREATE_DEFAULTS: dict[str, Any] = {
    "allowHomePage": True,
    "allowStandardIdeasPages": True,
    "allowStandardLookups": True,
    "allowStandardPortalPages": True,
    "allowStandardSearch": True,
    "browserXssProtection": True,
    "contentSniffingProtection": True,
    "referrerPolicyOriginWhenCrossOrigin": True,
    "siteType": "Visualforce",
}


class CustomSiteInputs(AdoptableInputs):
    full_name: Annotated[str, SF("fullName"), NAME, REPLACE] = Field(
        default=guide.SITE_NAME, pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=80
    )
    label: Annotated[str, SF("masterLabel")] = Field(default=guide.SITE_NAME, min_length=1, max_length=80)
    active: Annotated[bool, SF("active")] = True
    home_page: Annotated[str, SF("indexPage")] = guide.SITE_HOME_PAGE
    clickjack_protection_level: Annotated[
        Literal["AllowAllFraming", "External", "SameOriginOnly", "NoFraming"], SF("clickjackProtectionLevel")
    ] = guide.SITE_CLICKJACK_PROTECTION
    site_admin: Annotated[str | None, SF("siteAdmin")] = None
    guest_record_default_owner: Annotated[str | None, SF("siteGuestRecordDefaultOwner")] = None
    contact_email: Email | None = None
    guest_user_id: Annotated[str | None, COMPUTED] = None
    site_url: Annotated[str | None, COMPUTED] = None

    @field_validator("site_admin", "guest_record_default_owner")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        # Usernames are stored lower-case; keeping them so avoids false drift on refresh.
        return value.lower() if value else value


class CustomSiteProvider(MetadataProvider):
    kind = "CustomSite"
    adopt_opt_in = ADOPT_SHARED_HINT
    inputs_model = CustomSiteInputs
    listing_group = 1

    def to_salesforce(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        record = super().to_salesforce(inputs, creating=creating)
        return {**CREATE_DEFAULTS, **record} if creating else record

    def from_salesforce(self, record: Mapping[str, Any]) -> dict[str, Any]:
        values = super().from_salesforce(record)
        for name in ("site_admin", "guest_record_default_owner"):
            # Usernames are stored lower-case; compare as stored.
            if isinstance(values.get(name), str):
                values[name] = values[name].lower()
        return values

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        try:
            return super().create_live(inputs, record)
        except SalesforceError as err:
            if "register" in err.message.lower() and "domain" in err.message.lower():
                err.hint = SITE_STEP
            raise

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        # The guest user and the site URL come with the site and do not change while it lives: after the first
        # look-up they are carried over, so refresh and update cost no extra call.
        if olds and olds.get("guest_user_id") and olds.get("full_name") == inputs.get("full_name"):
            return {"guest_user_id": olds["guest_user_id"], "site_url": olds.get("site_url")}
        soql = (
            "SELECT Id, GuestUserId, Subdomain, UrlPathPrefix FROM Site "
            f"WHERE Name = {soql_quote(artifact_id)} LIMIT 1"
        )
        rows = self.client.query(soql, artifact=self.artifact(inputs))
        if not rows:
            return {"guest_user_id": None, "site_url": None}
        site = rows[0]
        url = None
        if site.get("Subdomain"):
            url = f"https://{site['Subdomain']}.my.salesforce-sites.com"
            if site.get("UrlPathPrefix"):
                url += f"/{site['UrlPathPrefix']}"
        return {"guest_user_id": site.get("GuestUserId"), "site_url": url}


class CustomSite(ArtifactResource, module="eci-aircall", name="CustomSite"):
    """The ``VoiceConnector`` site; ``guest_user_id`` feeds :class:`SiteGuestUser` and its permission sets."""

    provider_class = CustomSiteProvider


# ----------------------------------------------------------------------------------------------------------
# The site's guest user: Salesforce creates it with the site; we only keep it active.
# ----------------------------------------------------------------------------------------------------------
class SiteGuestUserInputs(ArtifactInputs):
    user_id: Annotated[str, SF("Id"), NAME, REPLACE] = Field(pattern=r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
    is_active: Annotated[bool, SF("IsActive"), FIXED] = True


class SiteGuestUserProvider(SObjectProvider):
    """Never creates or deletes a user: create finds the guest user by Id (so it is always ``adopted``) and
    activates it; delete leaves it alone (deleting the site deactivates it) unless ``delete_adopted``."""

    kind = "User"
    inputs_model = SiteGuestUserInputs

    def soql_fields(self) -> list[str]:
        return ["Id", "IsActive"]

    def prepare(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        return {"IsActive": bool(inputs["is_active"])}

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        live = self.read_live(str(inputs["user_id"]), inputs)
        if live is None:
            raise InputError(
                f"no user with Id {inputs['user_id']} (the site's guest user) exists",
                artifact=self.artifact(inputs),
                hint="guide: Assign the Guest User Permission Set, step 1 — check the site exists",
            )
        return live

    def _live(self, record: dict[str, Any] | None) -> Live | None:
        if record is None:
            return None
        return Live(
            id=str(record["Id"]),
            values={"user_id": str(record["Id"]), "is_active": bool(record.get("IsActive"))},
            raw=record,
        )

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        live = super().read_live(id_, outputs)
        known = str(outputs.get("user_id") or "")
        if live is not None and known and live.id[:15] == known[:15]:
            live.values["user_id"] = known  # keep a 15-character Id as written: no false drift
        return live

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        raise InputError(
            "the site guest user is created by Salesforce with the site", artifact=self.artifact(inputs)
        )

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self.client.update_record("User", id_, {"IsActive": False}, artifact=self.artifact(outputs))

    def artifact(self, inputs: Mapping[str, Any]) -> str:
        return f"Site guest user {inputs.get('user_id')}"


class SiteGuestUser(ArtifactResource, module="eci-aircall", name="SiteGuestUser"):
    """Keeps the site guest user active; outputs ``user_id`` (for its permission sets) and ``is_active``."""

    provider_class = SiteGuestUserProvider
