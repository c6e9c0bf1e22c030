"""What every eci-aircall dynamic provider does, artifact or not: its facts derived from its inputs model, the
Salesforce connection, the org the stack is bound to, ``check`` (validation), ``diff`` (no call, ever) and the
outputs every resource has. :class:`NonArtifactProvider` is the base of a resource that has nothing of its
own in the org (Preflight, the OAuth consumer); artifacts build on :mod:`providers.kit.artifact`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi.dynamic as dyn
from pulumi.runtime import rpc
from pydantic import ValidationError
from pydantic.fields import FieldInfo

import salesforce
from providers.config.connection import connection_settings
from providers.config.keys import ACCESS_TOKEN, INSTANCE_URL, TARGET_ORG
from providers.kit.inputs import ArtifactInputs, Facts, InputError
from providers.kit.values import (
    PROVIDER_KEY,
    hash_secret,
    is_unknown,
    normalize,
    same_id,
    same_url,
    secret_matches,
    unwrap,
)
from providers.reporting import Reporting
from salesforce import ConnectionSettings, SalesforceClient, UsageError

log = logging.getLogger(__name__)

#: Output naming the org the stack is bound to: ``{"id": Organization Id, "instance_url", "sandbox"?}``.
ORG_OUTPUT = "org"
#: What the model's markers give (providers.kit.inputs.Facts); set on each class, never declared by hand.
DERIVED = (
    "field_map", "name_field", "secret_fields", "secret_outputs", "replace_keys", "computed", "observed",
    "input_fields",
)  # fmt: skip


class ProviderBase(Reporting, dyn.ResourceProvider):
    """check / diff and the common outputs; create, read, update and delete are the subclass's."""

    # --- declarations (a module sets these) ---
    kind: ClassVar[str] = ""
    inputs_model: ClassVar[type[ArtifactInputs]] = ArtifactInputs

    # --- derived from ``inputs_model`` when the class is defined (see DERIVED) ---
    input_fields: ClassVar[Mapping[str, FieldInfo]] = {}
    name_field: ClassVar[str] = ""
    field_map: ClassVar[Mapping[str, str]] = {}
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    replace_keys: ClassVar[frozenset[str]] = frozenset()
    computed: ClassVar[tuple[str, ...]] = ()
    secret_outputs: ClassVar[frozenset[str]] = frozenset()
    #: Outputs measured in the org rather than set by the program (a named credential's health): ``create``,
    #: ``update`` and ``read`` (refresh) measure them with ``observe``; a no-op ``up`` makes no call
    #: (providers/kit/artifact.py, observed outputs).
    observed: ClassVar[tuple[str, ...]] = ()
    facts: ClassVar[Facts]

    #: ``<project>/<stack>`` of the program that registered the resource: scopes the create journal. Set by
    #: ArtifactResource before the provider is serialized into the resource's inputs.
    stack: str = ""

    # Connection settings arrive in configure() after unpickling; never pickled (see __getstate__).
    _settings: ConnectionSettings | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = sorted(set(DERIVED) & set(vars(cls)))
        if declared:
            raise TypeError(
                f"{cls.__name__} declares {', '.join(declared)}: mark the fields of "
                f"{cls.inputs_model.__name__} instead (providers/kit/inputs.py)"
            )
        cls.facts = Facts.of(cls.inputs_model, cls.kind)
        for name in DERIVED:
            setattr(cls, name, getattr(cls.facts, name))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def configure(self, req: dyn.ConfigureRequest) -> None:
        self._settings = connection_settings(req.config)

    @property
    def client(self) -> SalesforceClient:
        """The shared, lazily-connected client (no call happens until a method of it is used)."""
        if self._settings is None:
            raise salesforce.ConfigurationError(
                "the provider was not configured with a Salesforce connection",
                hint=f"set {INSTANCE_URL.full_name} + {ACCESS_TOKEN.full_name} (or sfdxAuthUrl, or JWT keys)",
            )
        return salesforce.client_for(self._settings)

    def org_key(self) -> str:
        """Which org this provider works on (its instance URL): scopes the create journal."""
        return self.client.instance_url

    def connecting_user_id(self) -> str:
        """The Id of the user this provider connects as (the creator a create journal entry expects)."""
        return self.client.current_user_id()

    # --- the org the stack is bound to ---
    #
    # The first operation that touches the org records its Organization Id in the outputs (``org``); every
    # later one whose login reaches another org refuses before reading or writing anything (issue 21, M3:
    # a machine-local `sf` alias re-pointed at production made refresh drop the state and up create there).
    # Learnt with no call of its own (SalesforceClient.org_id): an access token names its org in its first 15
    # characters, an OAuth login in its identity URL, `sf org display` in result.id. Where only a call would
    # tell (an opaque token, an SFDX auth URL or JWT login not yet made), the configured URL stands in: a My
    # Domain URL belongs to one org, so the same URL as recorded is the same org and a no-op preview stays
    # free; another URL costs the login (or userinfo) call that says which org it is.
    def instance_without_call(self) -> str | None:
        """The org URL the configured login goes to, when the config says it (no call); None for targetOrg."""
        settings = self._settings
        if settings is None:
            return None
        if settings.auth_mode in ("access_token", "sfdx_auth_url"):
            return self.client.instance_url  # from the config, no call
        if settings.auth_mode == "jwt":
            return settings.login_url
        return None

    def check_org(self, recorded: Mapping[str, Any]) -> None:
        """Refuse (ORG_MISMATCH) when the login reaches another org than the one ``recorded`` outputs name.
        Outputs without ``org`` (a state from before the binding) are not checked."""
        org = recorded.get(ORG_OUTPUT)
        if not isinstance(org, Mapping) or not org.get("id") or self._settings is None:
            return
        here = self.instance_without_call()
        same = bool(here) and same_url(here, org.get("instance_url"))
        mode = self._settings.auth_mode
        if mode == "access_token":
            if self.client.org_id_without_call() is None and same:
                return  # an opaque token on the recorded URL: the same org; userinfo would cost a call
        elif mode != "sf_cli" and same:
            return  # the same My Domain: the same org; finding out otherwise would cost a login
        current = self.client.org_id()
        if same_id(current, org["id"]):
            return
        sandbox = org.get("sandbox")
        kind = "an org" if sandbox is None else "a sandbox" if sandbox else "production"
        raise UsageError(
            "ORG_MISMATCH",
            f"this stack is bound to org {org['id']} ({kind} at {org.get('instance_url')}, recorded when the "
            f"stack first touched it), but its login now reaches org {current} "
            f"({self.client.instance_url}); nothing was read or written",
            artifact=self.artifact(recorded),
            hint="point this stack's login back at org "
            f"{org['id']} ({TARGET_ORG.full_name}, or instanceUrl + accessToken, sfdxAuthUrl, or the JWT "
            f"keys username/clientId/privateKey/loginUrl), or give org {current} a stack of its own "
            "(`pulumi stack init <name>`)",
        )

    def org_record(self, olds: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The ``org`` output: the recorded one, else the org the login reaches now (no call of its own where
        the login or an earlier call named it). None only for a provider never configured (unit tests)."""
        recorded = (olds or {}).get(ORG_OUTPUT)
        if isinstance(recorded, Mapping) and recorded.get("id"):
            return dict(recorded)
        if self._settings is None:
            return None
        record: dict[str, Any] = {"id": self.client.org_id(), "instance_url": self.client.instance_url}
        sandbox = self.client.org_sandbox()
        if sandbox is not None:
            record["sandbox"] = sandbox
        return record

    # --- names ---
    @classmethod
    def input_names(cls) -> list[str]:
        return list(cls.input_fields)

    @classmethod
    def output_names(cls) -> list[str]:
        names = list(cls.input_names())
        names += [f"{n}_hash" for n in sorted(cls.secret_fields)]
        names += ["adopted", ORG_OUTPUT, *cls.computed]
        if cls.secret_fields:
            names.append("write_only_fields")
        return names

    def artifact(self, inputs: Mapping[str, Any]) -> str:
        name = inputs.get(self.name_field) if self.name_field else None
        return f"{self.kind} {name}" if name and not is_unknown(name) else self.kind

    # --- check ---
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        provider_value = news.get(PROVIDER_KEY)
        plain, secret_names = unwrap({k: v for k, v in news.items() if k != PROVIDER_KEY})
        for name in self.secret_fields:
            salesforce.register_secret(plain.get(name))
        fields = self.input_fields
        unknown = {k for k, v in plain.items() if k in fields and is_unknown(v)}
        known = {
            k: normalize(v) for k, v in plain.items() if k in fields and k not in unknown and v is not None
        }
        failures: list[dyn.CheckFailure] = []
        validated: dict[str, Any] = {}
        try:
            validated = self.inputs_model.model_validate(known).model_dump(include=set(fields))
        except ValidationError as exc:
            for error in exc.errors():
                prop = str(error["loc"][0]) if error["loc"] else ""
                if prop in unknown:
                    continue
                # pydantic's msg never echoes the input; the input itself could be a secret, so it stays out.
                failures.append(dyn.CheckFailure(prop, f"{self.kind}.{prop}: {error['msg']}"))
        inputs: dict[str, Any] = {}
        for name in fields:
            if name in unknown:
                inputs[name] = plain[name]
            elif name in validated:
                inputs[name] = validated[name]
            elif name in known:
                inputs[name] = known[name]
        for name, value in list(inputs.items()):
            if (
                (name in self.secret_fields or name in secret_names)
                and value is not None
                and not is_unknown(value)
            ):
                inputs[name] = rpc.wrap_rpc_secret(value)
        if provider_value is not None:
            inputs[PROVIDER_KEY] = provider_value
        return dyn.CheckResult(inputs, failures)

    def _validated(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Inputs as the model sees them (defaults applied). Raises InputError naming the property."""
        plain, _ = unwrap({k: v for k, v in props.items() if k != PROVIDER_KEY})
        for name in self.secret_fields:
            salesforce.register_secret(plain.get(name))
        fields = self.input_fields
        known = {k: normalize(v) for k, v in plain.items() if k in fields and v is not None}
        try:
            return self.inputs_model.model_validate(known).model_dump(include=set(fields))
        except ValidationError as exc:
            first = exc.errors()[0]
            prop = str(first["loc"][0]) if first["loc"] else ""
            raise InputError(f"{prop}: {first['msg']}", artifact=self.artifact(plain)) from None

    # --- diff: no Salesforce call, ever ---
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        self.check_org(unwrap(olds)[0])
        changed = self.changes(olds, news)
        replaces = sorted(changed & self.replace_keys)
        return dyn.DiffResult(
            changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True
        )

    def changes(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> set[str]:
        """What ``diff`` reports changed. Default: the inputs that differ (``changed_fields``)."""
        return self.changed_fields(olds, news)

    def changed_fields(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> set[str]:
        old_plain, _ = unwrap(olds)
        new_plain, _ = unwrap(news)
        defaults = {
            n: f.get_default(call_default_factory=True)
            for n, f in self.input_fields.items()
            if not f.is_required()
        }
        changed: set[str] = set()
        for name in self.input_fields:
            new = new_plain.get(name, defaults.get(name))
            if new is None:
                new = defaults.get(name)
            if is_unknown(new):
                continue  # a preview does not know it yet; `up` diffs again with the real value
            if name in self.secret_fields:
                stored = old_plain.get(f"{name}_hash")
                if new is None and f"{name}_hash" in new_plain:
                    # Inputs read back by refresh: the value's hash stands in for it (refreshed_inputs).
                    if new_plain[f"{name}_hash"] != stored:
                        changed.add(name)
                    continue
                if new is None:
                    if stored:
                        changed.add(name)
                elif not secret_matches(str(new), stored):
                    changed.add(name)
                continue
            old = old_plain.get(name, defaults.get(name))
            if normalize(old) != normalize(new):
                changed.add(name)
        return changed

    # --- outputs ---
    def common_outputs(
        self, inputs: Mapping[str, Any], *, adopted: bool, olds: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """What every resource outputs: its non-secret inputs under their own names, ``<field>_hash`` for
        each write-only secret and ``write_only_fields`` naming them, ``adopted``, and ``org``."""
        outs: dict[str, Any] = {n: inputs.get(n) for n in self.input_names()}
        for name in sorted(self.secret_fields):
            value = inputs.get(name)
            if value is not None and not rpc.is_rpc_secret(value):
                # Kept for refresh to return (refreshed_inputs), encrypted: wrapped here, for every caller.
                salesforce.register_secret(value)
                outs[name] = rpc.wrap_rpc_secret(value)
            stored = (olds or {}).get(f"{name}_hash")
            if value is None:
                outs[f"{name}_hash"] = None
            elif stored and secret_matches(str(value), stored):
                outs[f"{name}_hash"] = stored  # unchanged: keep the same salt so state does not churn
            else:
                outs[f"{name}_hash"] = hash_secret(str(value))
        if self.secret_fields:
            outs["write_only_fields"] = sorted(self.secret_fields)
        outs["adopted"] = adopted
        outs[ORG_OUTPUT] = self.org_record(olds)
        return outs

    def _wrap_secret_outputs(self, outs: dict[str, Any]) -> dict[str, Any]:
        for name in self.secret_outputs | self.secret_fields:
            if outs.get(name) is not None and not rpc.is_rpc_secret(outs[name]):
                salesforce.register_secret(outs[name])
                outs[name] = rpc.wrap_rpc_secret(outs[name])
        return outs

    def refreshed_inputs(self, outs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs ``read`` returns: the live values, and each write-only field as the outputs keep it.

        The real engine decides a refresh by calling ``diff(olds=refreshed outputs, news=inputs in state)``
        (pulumi/pulumi pkg/resource/deploy/step.go, RefreshStep.Apply) and stores these inputs as the next
        operation's old inputs, and ``pulumi preview --diff`` prints old inputs against the program's
        (pkg/backend/display/object_diff.go, getResourcePropertiesDetails: a dynamic provider's diff names no
        keys). A write-only value cannot be read back from Salesforce, so the outputs keep the value the
        artifact was written with (encrypted in state, as a secret) and it is returned here: an unchanged
        secret then diffs clean, where leaving it out would print it as removed on every preview. A state
        written before the outputs kept it has only its ``<field>_hash``, which stands in for it.
        """
        inputs = {n: outs[n] for n in self.input_names() if n in outs and n not in self.secret_fields}
        for name in sorted(self.secret_fields):
            value = outs.get(name)
            if value is not None:
                inputs[name] = value if rpc.is_rpc_secret(value) else rpc.wrap_rpc_secret(value)
            elif outs.get(f"{name}_hash") is not None:
                inputs[f"{name}_hash"] = outs[f"{name}_hash"]
        return inputs


class NonArtifactProvider(ProviderBase):
    """A resource with nothing of its own in the org (Preflight's checks, the OAuth consumer's key and
    secret): its ``create`` and ``update`` compute its outputs; ``read`` keeps them, ``delete`` removes
    nothing. Both still refuse a login that reaches another org than the stack's."""

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        # Nothing in the org "is" the resource: refresh keeps it as it is, at no cost.
        olds = {k: v for k, v in props.items() if k != PROVIDER_KEY}
        self.check_org(unwrap(olds)[0])
        olds[ORG_OUTPUT] = self.org_record(unwrap(olds)[0])  # a state from before the binding: recorded now
        return dyn.ReadResult(id_, olds, self.refreshed_inputs(olds))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # Nothing to delete, but a destroy whose login reaches another org stops here too.
        self.check_org(unwrap(props)[0])
