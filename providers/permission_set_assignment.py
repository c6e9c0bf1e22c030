"""A permission set assigned to a user (guide: "Log In as the Integration User" step 1 — the ECI access and
"Conversation Insights Integration User" sets; "Assign the Guest User Permission Set" steps 5–6 — "Voice
Connector Permission" and "Conversation Insights Integration User" on the site guest user).

``PermissionSetAssignment`` rows cannot be edited (Object Reference, "PermissionSetAssignment":
PermissionSetId and AssigneeId are create-only), so both inputs are replace keys. Create goes straight to the
insert: a ``DUPLICATE_VALUE`` answer means the assignment is already there, and it is adopted (one call fewer
than looking first, and the usual case is a new assignment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, field_validator

from providers.config.keys import PERMISSION_SET_KEYS
from providers.kit import (
    COMPUTED,
    NAME,
    REPLACE,
    SF,
    ArtifactInputs,
    ArtifactResource,
    InputError,
    Live,
    SObjectProvider,
    same_id,
)
from salesforce import soql_quote

PERMISSION_SETS_KEY = PERMISSION_SET_KEYS[0].top_full_name
_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


class PermissionSetAssignmentInputs(ArtifactInputs):
    permission_set: Annotated[str, SF("PermissionSet.Name"), NAME, REPLACE] = Field(
        min_length=1, description="API name (Name) or label of the permission set"
    )
    assignee_id: Annotated[str, SF("AssigneeId"), REPLACE]
    assignment_id: Annotated[str | None, COMPUTED] = None
    permission_set_id: Annotated[str | None, COMPUTED] = None

    @field_validator("assignee_id")
    @classmethod
    def _is_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("is not a Salesforce record Id (15 or 18 characters)")
        return value


class PermissionSetAssignmentProvider(SObjectProvider):
    records_creator = False
    kind = "PermissionSetAssignment"
    inputs_model = PermissionSetAssignmentInputs
    find_before_create = False

    def artifact(self, inputs: Mapping[str, Any]) -> str:
        return f"PermissionSetAssignment {inputs.get('permission_set')} → {inputs.get('assignee_id')}"

    def soql_fields(self) -> list[str]:
        # SystemModstamp is the "Date Assigned"; an assignment has no CreatedDate / CreatedById (Salesforce
        # Field Reference, "PermissionSetAssignment").
        fields = ["Id", "AssigneeId", "PermissionSetId", "PermissionSet.Name", "PermissionSet.Label"]
        return [*fields, "SystemModstamp"]

    def identity(
        self, live: Live, inputs: Mapping[str, Any], *, reuse: bool = False
    ) -> dict[str, Any] | None:
        return {"id": live.id, "created_date": live.raw.get("SystemModstamp"), "created_by_id": None}

    def prepare(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        name = str(inputs["permission_set"])
        quoted = soql_quote(name)
        soql = f"SELECT Id, Name, Label FROM PermissionSet WHERE Name = {quoted} OR Label = {quoted}"
        rows = self.client.query(soql, artifact=self.artifact(inputs))
        by_name = [r for r in rows if str(r.get("Name", "")).lower() == name.lower()]
        chosen = by_name or rows
        if not chosen:
            raise InputError(
                f"permission set {name!r} does not exist in this org (neither as API name nor as label)",
                artifact=self.artifact(inputs),
                hint="install or update the Voice Connector package (guide: Configure Aircall with ECI), "
                f"or fix the name in {PERMISSION_SETS_KEY}",
            )
        if len(chosen) > 1:
            raise InputError(
                f"{len(chosen)} permission sets are labelled {name!r}",
                artifact=self.artifact(inputs),
                hint=f"use the API name instead in {PERMISSION_SETS_KEY}",
            )
        return {"PermissionSetId": chosen[0]["Id"], "AssigneeId": inputs["assignee_id"]}

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        quoted = soql_quote(str(inputs["permission_set"]))
        soql = (
            f"SELECT {', '.join(self.soql_fields())} FROM PermissionSetAssignment "
            f"WHERE AssigneeId = {soql_quote(str(inputs['assignee_id']))} "
            f"AND (PermissionSet.Name = {quoted} OR PermissionSet.Label = {quoted}) LIMIT 1"
        )
        rows = self.client.query(soql, artifact=self.artifact(inputs))
        return self._as_live(rows[0], inputs) if rows else None

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        # A refresh reads all of the assignee's assignments with one query, and the client keeps the answer
        # for the assignee's other assignments (the guide gives the integration user and the guest user two
        # sets each): two calls for the four.
        fields = ", ".join(self.soql_fields())
        assignee = outputs.get("assignee_id")
        where = f"AssigneeId = {soql_quote(str(assignee))}" if assignee else f"Id = {soql_quote(id_)}"
        soql = f"SELECT {fields} FROM PermissionSetAssignment WHERE {where}"
        rows = self.client.query(soql, artifact=self.artifact(outputs), reuse=True)
        row = next((r for r in rows if same_id(r.get("Id"), id_)), None)
        return self._as_live(row, outputs) if row else None

    def _as_live(self, row: dict[str, Any], known: Mapping[str, Any]) -> Live:
        # Report the values the way the user wrote them (label or API name; 15- or 18-character Id) when they
        # denote the same thing, so refresh shows no false drift.
        ps = row.get("PermissionSet") or {}
        wanted = str(known.get("permission_set") or "")
        names = {str(ps.get("Name") or "").lower(), str(ps.get("Label") or "").lower()}
        permission_set = wanted if wanted and wanted.lower() in names else ps.get("Name")
        assignee = str(row.get("AssigneeId") or "")
        known_assignee = str(known.get("assignee_id") or "")
        if known_assignee and assignee[:15] == known_assignee[:15]:
            assignee = known_assignee
        values = {"permission_set": permission_set, "assignee_id": assignee}
        return Live(id=str(row["Id"]), values=values, raw=row)

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        # Nothing on an assignment is editable; both inputs are replace keys, so an update never reaches here
        # with a Salesforce change. (Adopting an assignment that exists needs no write either.)
        return None

    def needs_write(self, inputs: Mapping[str, Any], live: Live, *, adopted: bool = True) -> bool:
        return False

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        permission_set_id = None
        if live is not None:
            permission_set_id = live.raw.get("PermissionSetId")
        if permission_set_id is None and olds:
            permission_set_id = olds.get("permission_set_id")
        return {"assignment_id": artifact_id, "permission_set_id": permission_set_id}


class PermissionSetAssignment(ArtifactResource, module="eci-aircall", name="PermissionSetAssignment"):
    """``permission_set`` (API name or label) assigned to ``assignee_id``."""

    provider_class = PermissionSetAssignmentProvider
