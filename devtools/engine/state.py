"""Pulumi deployment state: checkpoint version 3 in the file-backend layout, secrets encrypted.

Formats follow pulumi/pulumi `sdk/go/common/apitype` (CheckpointV3, DeploymentV3, ResourceV3) and
`pkg/resource/stack` (secret values serialised as {sig: secret, "ciphertext": encrypt(json(value))}).
In memory every property map is kept in the *wire* form the SDK and providers speak: a secret is
{sig: secret, "value": v}; only the file holds ciphertext.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .secrets import PassphraseSecretsManager

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PULUMI_VERSION = "v3.272.0"
ORGANIZATION = "organization"

Props = dict[str, Any]


class StateError(Exception):
    pass


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def wrap_secret(value: Any) -> Any:
    return value if is_secret(value) else {SIG_KEY: SECRET_SIG, "value": value}


def strip_secrets(value: Any) -> Any:
    """Plain values for a provider that does not accept secrets (acceptSecrets=false)."""
    if is_secret(value):
        return strip_secrets(value.get("value"))
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def _annotate(out: Any, inp: Any) -> Any:
    if is_secret(inp):
        return out if is_secret(out) else wrap_secret(out)
    if isinstance(inp, dict) and isinstance(out, dict) and not is_secret(out):
        return {k: (_annotate(v, inp[k]) if k in inp else v) for k, v in out.items()}
    if isinstance(inp, list) and isinstance(out, list) and len(inp) == len(out):
        return [_annotate(o, i) for o, i in zip(out, inp, strict=True)]
    return out


def annotate_secrets(outputs: Props, inputs: Props) -> Props:
    """Outputs at the same (nested) place as a secret input stay secret.

    The engine's `annotateSecrets` (pkg/resource/plugin/provider_plugin.go): a provider that does not accept
    secrets gets and returns plaintext, so the engine restores the marks.
    """
    return {k: (_annotate(v, inputs[k]) if k in inputs else v) for k, v in outputs.items()}


def normalise(value: Any) -> Any:
    """protobuf Struct carries every number as a double; the Go engine writes integral ones as integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def props_equal(a: Any, b: Any) -> bool:
    return bool(normalise(a) == normalise(b))


def _encrypt_props(value: Any, manager: PassphraseSecretsManager | None) -> Any:
    if is_secret(value):
        if manager is None:
            raise StateError(
                "a secret value must be saved but no passphrase secrets provider is available: "
                "set PULUMI_CONFIG_PASSPHRASE"
            )
        plain = json.dumps(
            normalise(_encrypt_free(value.get("value"))), separators=(",", ":"), sort_keys=True
        )
        return {SIG_KEY: SECRET_SIG, "ciphertext": manager.encrypt(plain)}
    if isinstance(value, dict):
        return {k: _encrypt_props(v, manager) for k, v in value.items()}
    if isinstance(value, list):
        return [_encrypt_props(v, manager) for v in value]
    return normalise(value)


def _encrypt_free(value: Any) -> Any:
    # A secret nested inside a secret is just part of the outer plaintext.
    return strip_secrets(value)


def _decrypt_props(value: Any, manager: PassphraseSecretsManager | None) -> Any:
    if is_secret(value):
        if "ciphertext" in value:
            if manager is None:
                raise StateError(
                    "the state holds secrets but no passphrase is available: set PULUMI_CONFIG_PASSPHRASE"
                )
            return wrap_secret(json.loads(manager.decrypt(value["ciphertext"])))
        return wrap_secret(value.get("value"))
    if isinstance(value, dict):
        return {k: _decrypt_props(v, manager) for k, v in value.items()}
    if isinstance(value, list):
        return [_decrypt_props(v, manager) for v in value]
    return value


def now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class ResourceState:
    urn: str
    type: str
    custom: bool
    id: str = ""
    inputs: Props = field(default_factory=dict)
    outputs: Props = field(default_factory=dict)
    parent: str = ""
    provider: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    delete: bool = False
    external: bool = False
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    additional_secret_outputs: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    # Deleted by a delete-before-replace whose create has not happened yet (pkg/resource/deploy/step.go,
    # DeleteStep.Apply sets `PendingReplacement` once the provider delete succeeded).
    pending_replacement: bool = False
    created: str = ""
    modified: str = ""

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    def copy(self) -> ResourceState:
        return copy.deepcopy(self)

    def to_json(self, manager: PassphraseSecretsManager | None) -> dict[str, Any]:
        doc: dict[str, Any] = {"urn": self.urn, "custom": self.custom}
        if self.delete:
            doc["delete"] = True
        if self.id:
            doc["id"] = self.id
        doc["type"] = self.type
        if self.inputs:
            doc["inputs"] = _encrypt_props(self.inputs, manager)
        if self.outputs:
            doc["outputs"] = _encrypt_props(self.outputs, manager)
        if self.parent:
            doc["parent"] = self.parent
        if self.protect:
            doc["protect"] = True
        if self.external:
            doc["external"] = True
        if self.dependencies:
            doc["dependencies"] = list(self.dependencies)
        if self.provider:
            doc["provider"] = self.provider
        if self.property_dependencies:
            doc["propertyDependencies"] = {k: list(v) for k, v in self.property_dependencies.items()}
        if self.additional_secret_outputs:
            doc["additionalSecretOutputs"] = list(self.additional_secret_outputs)
        if self.retain_on_delete:
            doc["retainOnDelete"] = True
        if self.ignore_changes:
            doc["ignoreChanges"] = list(self.ignore_changes)
        if self.replace_on_changes:
            doc["replaceOnChanges"] = list(self.replace_on_changes)
        # Not saved: apitype.ResourceV3 (sdk/go/common/apitype/core.go) has no such field; the option comes
        # from the program on every run.
        if self.pending_replacement:
            doc["pendingReplacement"] = True
        if self.created:
            doc["created"] = self.created
        if self.modified:
            doc["modified"] = self.modified
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], manager: PassphraseSecretsManager | None) -> ResourceState:
        return cls(
            urn=doc["urn"],
            type=doc["type"],
            custom=bool(doc.get("custom")),
            id=doc.get("id", "") or "",
            inputs=_decrypt_props(doc.get("inputs") or {}, manager),
            outputs=_decrypt_props(doc.get("outputs") or {}, manager),
            parent=doc.get("parent", "") or "",
            provider=doc.get("provider", "") or "",
            protect=bool(doc.get("protect")),
            retain_on_delete=bool(doc.get("retainOnDelete")),
            delete=bool(doc.get("delete")),
            external=bool(doc.get("external")),
            dependencies=list(doc.get("dependencies") or []),
            property_dependencies={k: list(v) for k, v in (doc.get("propertyDependencies") or {}).items()},
            additional_secret_outputs=list(doc.get("additionalSecretOutputs") or []),
            ignore_changes=list(doc.get("ignoreChanges") or []),
            replace_on_changes=list(doc.get("replaceOnChanges") or []),
            delete_before_replace=bool(doc.get("deleteBeforeReplace")),
            pending_replacement=bool(doc.get("pendingReplacement")),
            created=doc.get("created", "") or "",
            modified=doc.get("modified", "") or "",
        )

    def references(self) -> set[str]:
        """URNs this resource needs to exist first (so it must be deleted before them)."""
        refs = set(self.dependencies)
        for urns in self.property_dependencies.values():
            refs.update(urns)
        if self.parent:
            refs.add(self.parent)
        if self.provider:
            refs.add(self.provider.rsplit("::", 1)[0])
        refs.discard(self.urn)
        return refs


def manifest() -> dict[str, Any]:
    # `Manifest.NewMagic`: hex SHA-256 of the engine version.
    return {
        "time": _dt.datetime.now(_dt.UTC).isoformat(),
        "magic": hashlib.sha256(PULUMI_VERSION.encode()).hexdigest(),
        "version": PULUMI_VERSION,
    }


def deployment_json(
    resources: list[ResourceState], manager: PassphraseSecretsManager | None, salt_state: str | None
) -> dict[str, Any]:
    deployment: dict[str, Any] = {"manifest": manifest()}
    state = manager.state if manager is not None else salt_state
    if state:
        deployment["secrets_providers"] = {"type": "passphrase", "state": {"salt": state}}
    deployment["resources"] = [r.to_json(manager) for r in resources]
    return deployment


def resources_from_deployment(
    deployment: dict[str, Any], manager: PassphraseSecretsManager | None
) -> list[ResourceState]:
    return [ResourceState.from_json(doc, manager) for doc in deployment.get("resources") or []]


def deployment_salt(deployment: dict[str, Any]) -> str | None:
    provider = deployment.get("secrets_providers") or {}
    if provider and provider.get("type") != "passphrase":
        raise StateError(f"unsupported secrets provider {provider.get('type')!r} (only passphrase)")
    salt = (provider.get("state") or {}).get("salt")
    return str(salt) if salt else None


class StateStore:
    """`<state-dir>/.pulumi/stacks/<project>/<stack>.json`, the file backend's project-scoped layout."""

    def __init__(self, state_dir: str | Path, project: str, stack: str) -> None:
        self.root = Path(state_dir).resolve() / ".pulumi"
        self.project = project
        self.stack = stack
        self.path = self.root / "stacks" / project / f"{stack}.json"
        self._lock = threading.Lock()

    @property
    def fq_stack(self) -> str:
        return f"{ORGANIZATION}/{self.project}/{self.stack}"

    def exists(self) -> bool:
        return self.path.exists()

    def read_deployment(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        doc = json.loads(self.path.read_text())
        if doc.get("version") != 3:
            raise StateError(f"{self.path}: unsupported checkpoint version {doc.get('version')}")
        latest = (doc.get("checkpoint") or {}).get("latest")
        return latest if latest is not None else {"resources": []}

    def write_deployment(self, deployment: dict[str, Any]) -> None:
        doc = {"version": 3, "checkpoint": {"stack": self.fq_stack, "latest": deployment}}
        data = json.dumps(doc, indent=4)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            meta = self.root / "meta.yaml"
            if not meta.exists():
                # meta version 1 = project-scoped stacks, the layout current CLIs create and read.
                meta.write_text("version: 1\n")
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(data)
            os.replace(tmp, self.path)

    def export(self) -> dict[str, Any]:
        """What `pulumi stack export` prints: an UntypedDeployment."""
        deployment = self.read_deployment()
        if deployment is None:
            raise StateError(f"no stack named '{self.stack}' found")
        return {"version": 3, "deployment": deployment}

    def import_(self, untyped: dict[str, Any]) -> None:
        if untyped.get("version") != 3 or "deployment" not in untyped:
            raise StateError("the import file is not a version 3 deployment")
        self.write_deployment(untyped["deployment"])
