"""The integration user (guide: "Log In as the Integration User", step 1).

A ``User`` with the System Administrator profile. What the guide asks of it and how it is ensured:

* *Profile System Administrator*: ``ProfileId`` resolved from ``profile_name`` (one SOQL on Profile, before
  any write, so an unknown profile fails with 0 writes).
* *API Enabled*: a profile/permission-set permission, not a User field; the same Profile query reads
  ``PermissionsApiEnabled`` and refuses a profile without it.
* *Access to the Voice Call object*: not a User field either. System Administrator carries "View All Data" /
  "Modify All Data", which grant read access to every object, Voice Call included, and the ECI permission sets
  the component assigns next ("Einstein Conversation Insights", "Conversation Insights Integration User")
  grant the ECI objects. It is therefore ensured by the profile + those assignments rather than verified
  separately (a check would need ``ObjectPermissions`` on the profile's permission set, which costs a call on
  every create).
* Users cannot be deleted through the API (Object Reference, "User": delete() is not supported): delete
  deactivates (``IsActive = false``).
* *Log in as the integration user* needs a password, which a user created through the API does not have.
  With ``send_password_reset`` (``integrationUser.sendPasswordReset``) the create asks Salesforce to email
  the user a password reset: REST ``DELETE /services/data/vXX.X/sobjects/User/{id}/password`` ("Reset User
  Password", REST API Developer Guide: the current password becomes invalid, the user receives an email with
  a reset link, and the response body carries a temporary password). That temporary password is never kept
  nor logged. Never done for an adopted user (a person's account). A failed request does not undo the
  create: it is reported with the fix, and the next ``up`` that changes the user asks again.
* Usernames are unique across *all* orgs: a create that fails with ``DUPLICATE_USERNAME`` while no user of
  that name exists in this org means another org holds it — the error names the config key to change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import pulumi.dynamic as dyn
from pydantic import Field, field_validator

import salesforce
from providers.config.keys import (
    INTEGRATION_USER_ADOPT_EXISTING,
    INTEGRATION_USER_LOCALE,
    INTEGRATION_USER_PROFILE,
    INTEGRATION_USER_SEND_PASSWORD_RESET,
    INTEGRATION_USER_TIME_ZONE,
    INTEGRATION_USER_USERNAME,
)
from providers.kit import (
    COMPUTED,
    FIXED,
    NAME,
    SF,
    AdoptableInputs,
    ArtifactResource,
    Email,
    InputError,
    Live,
    SObjectProvider,
    same_id,
    unwrap,
)
from salesforce import SalesforceError, soql_quote

log = logging.getLogger(__name__)

USERNAME_KEY = INTEGRATION_USER_USERNAME.full_name
PROFILE_KEY = INTEGRATION_USER_PROFILE.full_name
ADOPT_KEY = INTEGRATION_USER_ADOPT_EXISTING.full_name
#: What an adopted user keeps as it was: the person's profile, email and identity (names, alias, locale, time
#: zone, username). Adoption writes none of them (only IsActive when the user was inactive; destroy restores
#: that).
PROTECTED_FIELDS = frozenset(
    {"username", "email", "first_name", "last_name", "alias", "time_zone", "locale", "profile_name"}
)


class IntegrationUserInputs(AdoptableInputs):
    # Object Reference "User": Username is an email-shaped string up to 80 characters; Alias up to 8.
    username: Annotated[Email, SF("Username"), NAME] = Field(max_length=80)
    email: Annotated[Email, SF("Email")] = Field(max_length=128)
    first_name: Annotated[str | None, SF("FirstName")] = Field(default=None, max_length=40)
    last_name: Annotated[str, SF("LastName")] = Field(min_length=1, max_length=80)
    alias: Annotated[str, SF("Alias")] = Field(min_length=1, max_length=8)
    # The guide's values, declared with the stack config keys that set them.
    time_zone: Annotated[str, SF("TimeZoneSidKey")] = str(INTEGRATION_USER_TIME_ZONE.default)
    locale: Annotated[str, SF("LocaleSidKey")] = str(INTEGRATION_USER_LOCALE.default)
    profile_name: Annotated[str, SF("Profile.Name")] = str(INTEGRATION_USER_PROFILE.default)
    #: Kept True: an admin deactivating the user shows as drift on refresh and `up` reactivates it.
    is_active: Annotated[bool, SF("IsActive"), FIXED] = True
    user_id: Annotated[str | None, COMPUTED] = None
    #: For an adopted user, False when adopting activated it (destroy deactivates it again); None otherwise.
    restore_is_active: Annotated[bool | None, COMPUTED] = None
    #: Salesforce emails the user a password reset when the stack has created it (module doc).
    send_password_reset: bool = bool(INTEGRATION_USER_SEND_PASSWORD_RESET.default)
    #: When that email was asked for (ISO 8601, UTC); None if never.
    password_reset_requested_at: Annotated[str | None, COMPUTED] = None

    @field_validator("username")
    @classmethod
    def _lower(cls, value: str) -> str:
        # Salesforce stores usernames in lower case; comparing as stored keeps refresh from reporting drift.
        return value.lower()


class IntegrationUserProvider(SObjectProvider):
    kind = "User"
    adopt_opt_in = f"choose a new username, or opt in with `pulumi config set --path {ADOPT_KEY} true`"
    inputs_model = IntegrationUserInputs

    def prepare(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        profile = self._profile(inputs)
        record = self.to_salesforce(inputs, creating=creating)
        record.pop("Profile", None)
        record["ProfileId"] = profile["Id"]
        if creating:
            # Required on create (Object Reference "User"); the guide leaves them at the org's defaults.
            record.setdefault("EmailEncodingKey", "UTF-8")
            record.setdefault("LanguageLocaleKey", inputs.get("locale") or "en_US")
        return record

    def _profile(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        name = str(inputs["profile_name"])
        soql = f"SELECT Id, Name, PermissionsApiEnabled FROM Profile WHERE Name = {soql_quote(name)}"
        rows = self.client.query(soql, artifact=self.artifact(inputs))
        if not rows:
            raise InputError(
                f"profile {name!r} does not exist in this org",
                artifact=self.artifact(inputs),
                hint=f"the guide asks for System Administrator; set {PROFILE_KEY} to an existing profile "
                f"name (`{INTEGRATION_USER_PROFILE.set_command()}`)",
            )
        profile = rows[0]
        if profile.get("PermissionsApiEnabled") is False:
            raise InputError(
                f"profile {name!r} does not have API Enabled, which the integration user needs",
                artifact=self.artifact(inputs),
                hint=f"use System Administrator (guide: Log In as the Integration User) via {PROFILE_KEY}",
            )
        return profile

    def before_adopt(self, inputs: Mapping[str, Any], live: Live, *, interrupted: bool = False) -> None:
        # Preflight refuses this before anything is written; checked again here so no path adopts a person's
        # account without the opt-in, nor ever the user this stack connects as.
        if same_id(live.id, self.connecting_user_id()):
            raise InputError(
                f"username {inputs['username']!r} is the user this stack connects as",
                artifact=self.artifact(inputs),
                hint=f"choose a new username: `pulumi config set --path {USERNAME_KEY} <new-username>`",
            )
        super().before_adopt(inputs, live, interrupted=interrupted)

    def needs_write(self, inputs: Mapping[str, Any], live: Live, *, adopted: bool = True) -> bool:
        if adopted:
            # Used as it is (PROTECTED_FIELDS); only an inactive user is activated, and destroy deactivates it
            # again (``restore_is_active``).
            return live.raw.get("IsActive") is False
        return super().needs_write(inputs, live, adopted=adopted)

    def adoption_record(self, record: dict[str, Any]) -> dict[str, Any]:
        return {"IsActive": True}

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        created = super().create(props)
        return dyn.CreateResult(created.id, self._password_reset(created.id, props, dict(created.outs or {})))

    def _password_reset(self, user_id: str, props: Mapping[str, Any], outs: dict[str, Any]) -> dict[str, Any]:
        """Ask Salesforce to email the user a password reset, once, when the inputs ask for it and the stack
        created the user (module doc)."""
        inputs, done = unwrap(dict(props))[0], unwrap(outs)[0]
        if (
            not inputs.get("send_password_reset")
            or done.get("adopted")
            or done.get("password_reset_requested_at")
        ):
            return outs
        artifact = self.artifact(inputs)
        try:
            answer = self.client.rest("DELETE", f"sobjects/User/{user_id}/password", artifact=artifact)
        except SalesforceError as err:
            log.warning(
                "%s: the password reset email was not sent (%s: %s); send it from Setup > Users > %s > Reset "
                "Password, or run `pulumi up` again",
                artifact, err.error_code, err.message, inputs.get("username"),
            )  # fmt: skip
            return outs
        # The temporary password in the answer is not ours to keep: scrubbed from any log line, then dropped.
        if isinstance(answer, Mapping):
            salesforce.register_secret(answer.get("NewPassword"))
        outs["password_reset_requested_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return outs

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        updated = self._update(id_, olds, news)
        return dyn.UpdateResult(self._password_reset(id_, news, dict(updated.outs or {})))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        self.check_org(unwrap(olds)[0])
        if unwrap(olds)[0].get("adopted"):
            changed = self.changed_fields(olds, news) & (PROTECTED_FIELDS | {"is_active"})
            if changed:
                log.warning(
                    "%s was adopted: %s left as they are in the org",
                    self.artifact(unwrap(olds)[0]),
                    ", ".join(sorted(changed)),
                )
            inputs = self._validated(news)
            return dyn.UpdateResult(self.outputs(id_, inputs, adopted=True, olds=unwrap(olds)[0], live=None))
        return super().update(id_, olds, news)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        olds = unwrap(props)[0]
        self.check_org(olds)
        if olds.get("adopted"):
            # Destroy undoes what adoption changed (it activated an inactive user) and nothing else:
            # deactivating a person's account is never this stack's to do, whatever deleteAdopted says.
            if olds.get("restore_is_active") is False:
                self.client.update_record("User", id_, {"IsActive": False}, artifact=self.artifact(olds))
            else:
                log.info("%s was adopted, not created by this stack: left as it is", self.artifact(olds))
            return
        super().delete(id_, props)

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        try:
            return super().create_live(inputs, record)
        except SalesforceError as err:
            if err.error_code != "DUPLICATE_USERNAME" or self.find(inputs) is not None:
                raise  # a user of that name is in this org: the base class adopts it
            raise InputError(
                f"username {inputs['username']!r} is already taken in another Salesforce org (usernames are "
                "unique across all orgs)",
                artifact=self.artifact(inputs),
                hint=f"choose another one: `pulumi config set --path {USERNAME_KEY} <new-username>`",
            ) from None

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        # Users cannot be deleted; deactivating frees the licence and is what Setup offers.
        self.client.update_record("User", id_, {"IsActive": False}, artifact=self.artifact(outputs))

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        restore = (olds or {}).get("restore_is_active")
        if olds is None and live is not None and live.raw.get("IsActive") is False:
            restore = False  # found inactive and adopted: activated by this create
        return {
            "user_id": artifact_id,
            "restore_is_active": restore,
            "password_reset_requested_at": (olds or {}).get("password_reset_requested_at"),
        }


class IntegrationUser(ArtifactResource, module="eci-aircall", name="IntegrationUser"):
    """The integration user; ``user_id`` feeds the permission set assignments."""

    provider_class = IntegrationUserProvider
