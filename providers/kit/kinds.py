"""The two kinds of artifact: a Metadata API component and an sObject record. Each implements the calls of
:class:`~providers.kit.hooks.ArtifactHooks` (find, read, create, update, delete) for its API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import salesforce
from providers.kit.artifact import ArtifactProvider
from providers.kit.hooks import Live
from providers.kit.values import drop_path, flatten, iso, merge
from salesforce import SalesforceClient


def listed_together(type_name: str) -> tuple[str, ...]:
    """The Metadata types whose providers declare the listing group of ``type_name``'s (``()``: none)."""
    # Deferred: the registry imports every artifact module, and they import the kit. All of them must be known
    # here, whichever the provider host has unpickled so far, or a refresh would list a group in pieces.
    from providers.registry import listing_groups

    return next((group for group in listing_groups() if type_name in group), ())


def listed_identity(
    client: SalesforceClient, type_name: str, full_name: str, *, artifact: str, reuse: bool = False
) -> dict[str, Any] | None:
    """The identity (id, createdDate, createdById) ``listMetadata`` gives the component ``full_name`` of
    ``type_name``, listed with the rest of its listing group; None when there is no such component."""
    along = listed_together(type_name)
    for props in client.metadata_list(type_name, artifact=artifact, along=along, reuse=reuse):
        if str(props.get("fullName") or "").lower() == full_name.lower():
            return {
                "id": props.get("id") or None,
                "created_date": iso(props.get("createdDate")),
                "created_by_id": props.get("createdById") or None,
            }
    return None


class MetadataProvider(ArtifactProvider):
    """A Metadata API component (``kind`` = Metadata type); its id is the fullName (the ``NAME`` field)."""

    #: The ``listMetadata`` call a refresh lists this type in (1, 2, ...), shared with the Metadata types
    #: whose providers declare the same number: one call answers up to three types (Metadata API Developer
    #: Guide, "listMetadata()": 3 queries per call), so a refresh learns the identities of all the stack's
    #: components in a few calls instead of one each. Required of every Metadata type; types a stack never
    #: has together (a connected app, an external client app) belong in different groups.
    listing_group: ClassVar[int] = 0
    #: Salesforce fields that must not be sent on update (e.g. ConnectedApp ``oauthConfig.consumerKey``).
    create_only_paths: ClassVar[tuple[str, ...]] = ()
    identity_by_name = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind and cls.listing_group < 1:
            raise TypeError(f"{cls.__name__}: a Metadata type declares its listing_group (1, 2, ...)")

    def identity(
        self, live: Live, inputs: Mapping[str, Any], *, reuse: bool = False
    ) -> dict[str, Any] | None:
        # readMetadata returns neither id nor creation stamp; listMetadata's FileProperties do (Metadata API
        # Developer Guide, "FileProperties": id, createdDate, createdById). A refresh lists each listing
        # group once for all its components.
        return listed_identity(
            self.client, self.kind, live.id, artifact=f"{self.kind} {live.id}", reuse=reuse
        )

    def full_name(self, inputs: Mapping[str, Any]) -> str:
        return str(inputs[self.name_field])

    def _live(self, record: dict[str, Any] | None) -> Live | None:
        if record is None:
            return None
        return Live(id=str(record.get("fullName")), values=self.from_salesforce(record), raw=record)

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        name = self.full_name(inputs)
        return self._live(self.client.metadata_read(self.kind, [name], artifact=self.artifact(inputs))[0])

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        return self._live(self.client.metadata_read(self.kind, [id_], artifact=f"{self.kind} {id_}")[0])

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        name = self.full_name(inputs)
        self.client.metadata_create(self.kind, [{**record, "fullName": name}], artifact=self.artifact(inputs))
        return name

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        # updateMetadata replaces the whole component: start from the live one so fields we do not manage
        # (set by an admin in Setup) survive. Metadata API Developer Guide, "updateMetadata()".
        if live is None:
            live = self.read_live(id_, inputs)
        base = dict(live.raw) if live is not None else {}
        desired = merge(base, record)
        for path in self.create_only_paths:
            drop_path(desired, path)
        desired["fullName"] = id_
        self.client.metadata_update(self.kind, [desired], artifact=self.artifact(inputs))

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self.client.metadata_delete(self.kind, [id_], artifact=f"{self.kind} {id_}")


class SObjectProvider(ArtifactProvider):
    """An sObject record (``kind`` = sObject); its id is the record Id. ``field_map`` values are API field
    names (relationship paths such as ``Profile.Name`` are allowed for reading; ``prepare`` turns them
    into Ids)."""

    def soql_fields(self) -> list[str]:
        # CreatedDate / CreatedById ride along in the same query: what the create journal needs to claim a
        # record (Object Reference, "System Fields").
        fields = (p for n, p in self.field_map.items() if n not in self.secret_fields)
        return ["Id", *dict.fromkeys(fields), "CreatedDate", "CreatedById"]

    def _live(self, record: dict[str, Any] | None) -> Live | None:
        if record is None:
            return None
        return Live(id=str(record["Id"]), values=self.from_salesforce(flatten(record)), raw=record)

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        name = self.name_field
        where = f"{self.field_map[name]} = {salesforce.soql_quote(str(inputs[name]))}"
        soql = f"SELECT {', '.join(self.soql_fields())} FROM {self.kind} WHERE {where} LIMIT 1"
        records = self.client.query(soql, artifact=self.artifact(inputs))
        return self._live(records[0] if records else None)

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        soql = (
            f"SELECT {', '.join(self.soql_fields())} FROM {self.kind} WHERE Id = {salesforce.soql_quote(id_)}"
        )
        records = self.client.query(soql, artifact=self.artifact(outputs))
        return self._live(records[0] if records else None)

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        return self.client.create_record(self.kind, record, artifact=self.artifact(inputs))

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        self.client.update_record(self.kind, id_, record, artifact=self.artifact(inputs))

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self.client.delete_record(self.kind, id_, artifact=self.artifact(outputs))
