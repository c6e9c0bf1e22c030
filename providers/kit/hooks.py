"""What an artifact module may declare and override: the class settings and hooks of an artifact provider,
with their defaults. The lifecycle that calls them (check, diff, create or adopt, read, update, delete) is
:mod:`providers.kit.artifact`; :mod:`providers.kit.kinds` implements the calls for Metadata components and
sObject records, so a module usually overrides only a translation or a look-up. (Rarely more: the
integration user also overrides ``before_adopt``, ``update`` and ``delete``, to leave an adopted person's
account as it was.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from providers.kit.provider import ProviderBase
from providers.kit.values import get_path, normalize, set_path


@dataclass
class Live:
    """An artifact as read from the org: its id, its values under the *input* names, the raw record."""

    id: str
    values: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    #: What tells this artifact from a same-named one made later (see ``ArtifactHooks.identity``).
    identity: dict[str, Any] | None = None


class ArtifactHooks(ProviderBase):
    """The declarations and hooks of one Salesforce artifact type (``kind``, ``inputs_model``: see
    :mod:`providers.kit.inputs` for the facts each field carries)."""

    #: False: create first and adopt on DUPLICATE_VALUE (one call fewer when the artifact is usually new).
    find_before_create: ClassVar[bool] = True
    #: True when the state id is a name another artifact can take after ours is deleted (Metadata fullName):
    #: then update and delete check the recorded ``identity`` before writing. An sObject's id is its record
    #: Id, which no other record ever gets.
    identity_by_name: ClassVar[bool] = False
    #: False for a type Salesforce keeps no creator for (a permission set assignment): the create journal
    #: then claims by creation time alone.
    records_creator: ClassVar[bool] = True
    #: The hint naming the config that opts in to taking over an artifact of this kind that exists and was
    #: not created by this stack (see ``before_adopt``).
    adopt_opt_in: ClassVar[str] = ""

    # --- mapping between the inputs and the Salesforce record ---
    def prepare(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        """Read-only look-ups and validation before any write (bad input fails here with 0 writes), then the
        record to write. Default: ``to_salesforce``."""
        return self.to_salesforce(inputs, creating=creating)

    def to_salesforce(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        """The record: each input with an ``SF`` path at that path."""
        record: dict[str, Any] = {}
        for name, path in self.field_map.items():
            if name in inputs and inputs[name] is not None:
                set_path(record, path, inputs[name])
        return record

    def from_salesforce(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The values under the input names, as a read returns them (write-only secrets left out)."""
        return {
            name: get_path(record, path)
            for name, path in self.field_map.items()
            if name not in self.secret_fields
        }

    # --- outputs besides the inputs ---
    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The ``COMPUTED`` outputs. ``live.raw`` is the record as read, or as just written (create/update);
        ``live`` is None when update wrote nothing; ``olds`` are the previous outputs (None on create)."""
        return {}

    def observe(self, artifact_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Measure the ``OBSERVED`` outputs (may call Salesforce). Default: nothing observed."""
        return {}

    # --- taking over what is already there ---
    def identity(
        self, live: Live, inputs: Mapping[str, Any], *, reuse: bool = False
    ) -> dict[str, Any] | None:
        """What tells ``live`` from a same-named artifact made after it: the record Id, and its CreatedDate /
        CreatedById when the read returned them. None: not readable (the artifact is gone). ``reuse``: a
        refresh's read, which may answer from what this process already listed (checks before a write and
        claims never do)."""
        return {
            "id": live.id,
            "created_date": live.raw.get("CreatedDate"),
            "created_by_id": live.raw.get("CreatedById"),
        }

    def adopt_hint(self, inputs: Mapping[str, Any]) -> str:
        """How the config opts in to taking over an existing artifact of this kind (``before_adopt``)."""
        return self.adopt_opt_in or "delete or rename it in Setup if it is not in use, then run `pulumi up`"

    def adoption_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """What adopting may write of ``record`` (the fields that make the artifact as the inputs say).
        Default: all of it."""
        return record

    def needs_write(self, inputs: Mapping[str, Any], live: Live, *, adopted: bool = True) -> bool:
        """On adopt: write only when the org differs from the inputs (write-only fields always differ)."""
        if self.secret_fields & {k for k, v in inputs.items() if v is not None}:
            return True
        for name in self.field_map:
            if name in self.secret_fields or name not in inputs:
                continue
            if normalize(live.values.get(name)) != normalize(inputs[name]):
                return True
        return False

    # --- the calls (MetadataProvider and SObjectProvider implement them) ---
    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        """The artifact the inputs name, if it exists (the adopt look-up)."""
        raise NotImplementedError

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        raise NotImplementedError

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        """Create it; returns the state id."""
        raise NotImplementedError

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        raise NotImplementedError

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        raise NotImplementedError
