"""An artifact's properties: one pydantic model declares them all, each field with its facts on its own line
(what pulumi-command's struct tags do, ``provider/pkg/provider/remote/command.go``)::

    class AuthProviderInputs(AdoptableInputs):
        full_name: Annotated[str, SF("fullName"), NAME, REPLACE] = Field(default=..., pattern=DEVELOPER_NAME)
        consumer_key: Annotated[str, SF("consumerKey"), SECRET_OUTPUT] = Field(min_length=1)
        consumer_secret: Annotated[str, SF("consumerSecret"), SECRET] = Field(min_length=1)
        callback_url: Annotated[str | None, COMPUTED] = None

The type and pydantic's constraints say what a value may be (``check`` turns a violation into a
CheckFailure naming the property); the markers say what the provider does with it:

* ``SF(path)``: where the value lives in the Salesforce record, dotted when nested
  (``"oauthConfig.callbackUrl"``); a model two kinds share gives it per kind by keyword
  (``SF(ConnectedApp=..., ExternalClientApplication=...)``). A field without it is never sent to Salesforce.
* ``NAME``: the artifact's unique name (at most one field): the adopt look-up key, the id of a Metadata
  component, and what errors name it by.
* ``REPLACE``: a change replaces the artifact (delete, then create) instead of updating it.
* ``SECRET``: a write-only secret input: marked secret, never an output; state keeps ``<field>_hash``
  (salted PBKDF2) and lists it in ``write_only_fields`` (``refresh`` cannot see its drift).
* ``SECRET_OUTPUT``: kept secret in state and outputs although not write-only (a consumer key).
* ``FIXED``: not a keyword argument: the resource always passes the field's default (``is_active=True``).
* ``COMPUTED``: an output only, set by the provider (its ``computed_outputs`` hook); default None.
* ``OBSERVED``: an output only, measured in the org (its ``observe`` hook); default None.

A provider derives its field map, secret fields, replace keys and outputs from the model once, when its class
is defined (:class:`Facts`); no provider declares them again.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from salesforce import UsageError


class SF:
    """A field's path in the Salesforce record (the marker ``SF("fullName")``)."""

    __slots__ = ("by_kind", "path")

    def __init__(self, path: str = "", /, **by_kind: str) -> None:
        self.path = path
        self.by_kind = by_kind

    def path_for(self, kind: str) -> str:
        return self.by_kind.get(kind, self.path)

    def __repr__(self) -> str:
        kinds = "".join(f", {k}={v!r}" for k, v in self.by_kind.items())
        return f"SF({self.path!r}{kinds})"


class Fact(enum.Enum):
    """A field's facts besides its Salesforce path (see the module's docstring)."""

    NAME = "name"
    REPLACE = "replace"
    SECRET = "secret"
    SECRET_OUTPUT = "secret output"
    FIXED = "fixed"
    COMPUTED = "computed"
    OBSERVED = "observed"


NAME, REPLACE, SECRET, SECRET_OUTPUT = Fact.NAME, Fact.REPLACE, Fact.SECRET, Fact.SECRET_OUTPUT
FIXED, COMPUTED, OBSERVED = Fact.FIXED, Fact.COMPUTED, Fact.OBSERVED
_OUTPUT_ONLY = frozenset({COMPUTED, OBSERVED})


# Salesforce's own check is looser than RFC 5322 but needs one "@" and a dotted domain (Object Reference,
# User.Email, "Type: email"); this catches typos before any call without an email-validation library.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("is not an email address (expected name@example.com)")
    return value


Email = Annotated[str, AfterValidator(_check_email)]

# API names (fullName, URL suffix): a letter first, then letters, digits and single underscores, no
# trailing underscore (Setup's rule for every "API Name"/"Name" field).
DEVELOPER_NAME = r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$"


class ArtifactInputs(BaseModel):
    """Base of every module's input model. Unknown keys (output placeholders) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    #: An artifact that create found already in the org (``adopted``) is left alone on delete unless set.
    delete_adopted: bool = False


class AdoptableInputs(ArtifactInputs):
    """Inputs of an artifact whose settings the stack writes. One that is in the org already and that this
    stack did not create is someone else's: create takes it over only when the config opts in
    (``adopt_existing``), and otherwise refuses it before writing anything to it."""

    adopt_existing: bool = False


class InputError(UsageError):
    """Bad input found by a read-only look-up (unknown profile, permission set ...); raised before writes."""

    def __init__(self, message: str, *, artifact: str = "", hint: str = "") -> None:
        super().__init__("INVALID_INPUT", message, artifact=artifact, hint=hint)


@dataclass(frozen=True)
class Facts:
    """What a provider of ``kind`` derives from its model's markers, once, when its class is defined."""

    #: The input fields (every field but the output-only ones), in declaration order.
    input_fields: Mapping[str, FieldInfo]
    field_map: Mapping[str, str]
    name_field: str
    secret_fields: frozenset[str]
    secret_outputs: frozenset[str]
    replace_keys: frozenset[str]
    fixed_inputs: Mapping[str, Any]
    computed: tuple[str, ...]
    observed: tuple[str, ...]
    #: Every field's type (outputs included): the resource's ``pulumi.Output`` annotations.
    types: Mapping[str, Any]

    @classmethod
    def of(cls, model: type[BaseModel], kind: str) -> Facts:
        marked: dict[str, set[Fact]] = {}
        paths: dict[str, str] = {}
        for name, info in model.model_fields.items():
            marked[name] = {m for m in info.metadata if isinstance(m, Fact)}
            sf = next((m for m in info.metadata if isinstance(m, SF)), None)
            path = sf.path_for(kind) if sf is not None else ""
            if path:
                paths[name] = path
            _check_marks(model, name, info, marked[name], sf is not None)

        def having(fact: Fact) -> list[str]:
            return [name for name, facts in marked.items() if fact in facts]

        names = having(NAME)
        if len(names) > 1:
            raise TypeError(f"{model.__name__}: NAME marks {', '.join(names)}; an artifact has one name")
        fields = model.model_fields
        return cls(
            input_fields={n: f for n, f in fields.items() if not marked[n] & _OUTPUT_ONLY},
            field_map=paths,
            name_field=names[0] if names else "",
            secret_fields=frozenset(having(SECRET)),
            secret_outputs=frozenset(having(SECRET_OUTPUT)),
            replace_keys=frozenset(having(REPLACE)),
            fixed_inputs={n: fields[n].get_default(call_default_factory=True) for n in having(FIXED)},
            computed=tuple(having(COMPUTED)),
            observed=tuple(having(OBSERVED)),
            types={n: f.annotation for n, f in fields.items()},
        )


def _check_marks(model: type[BaseModel], name: str, info: FieldInfo, facts: set[Fact], sf: bool) -> None:
    """Refuse combinations that mean nothing, when the provider's class is defined."""
    where = f"{model.__name__}.{name}"
    output_only = facts & _OUTPUT_ONLY
    if len(output_only) > 1:
        raise TypeError(f"{where}: COMPUTED or OBSERVED, not both")
    if output_only:
        if sf or facts - {*output_only, SECRET_OUTPUT}:
            raise TypeError(f"{where}: an output-only field takes no other marker than SECRET_OUTPUT")
        if info.is_required() or info.get_default(call_default_factory=True) is not None:
            raise TypeError(f"{where}: an output-only field defaults to None (it has no value before create)")
    if {SECRET, SECRET_OUTPUT} <= facts:
        raise TypeError(f"{where}: SECRET (write-only, never an output) or SECRET_OUTPUT, not both")
    if FIXED in facts and info.is_required():
        raise TypeError(f"{where}: a FIXED field needs the default the resource passes")
