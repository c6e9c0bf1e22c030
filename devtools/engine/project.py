"""Project (`Pulumi.yaml`) and stack configuration (`<stackConfigDir>/Pulumi.<stack>.yaml`), read as the CLI
does."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .secrets import PassphraseError, PassphraseSecretsManager, read_passphrase


class ProjectError(Exception):
    pass


@dataclass
class Project:
    name: str
    directory: Path
    main: Path
    stack_config_dir: Path
    schema: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: str | Path) -> Project:
        directory = Path(directory).resolve()
        path = directory / "Pulumi.yaml"
        if not path.exists():
            alt = directory / "Pulumi.yml"
            if not alt.exists():
                raise ProjectError(f"no Pulumi.yaml project file found in {directory}")
            path = alt
        doc = yaml.safe_load(path.read_text()) or {}
        name = doc.get("name")
        if not name:
            raise ProjectError(f"{path}: project is missing a 'name' attribute")
        runtime = doc.get("runtime")
        runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
        if runtime_name != "python":
            raise ProjectError(f"{path}: only the python runtime is supported, not {runtime_name!r}")
        main = directory / doc["main"] if doc.get("main") else directory
        return cls(
            name=str(name),
            directory=directory,
            main=main,
            stack_config_dir=directory / doc.get("stackConfigDir", "."),
            schema=doc.get("config") or {},
        )

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def qualify(self, key: str) -> str:
        # `pulumi config set key v` namespaces a bare key with the project name.
        return key if ":" in key else f"{self.name}:{key}"


def _config_string(value: Any) -> str:
    # The language host hands every config value to the program as a string; structured values as JSON.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass
class StackConfig:
    values: dict[str, str]
    secret_keys: set[str]
    secrets_manager: PassphraseSecretsManager | None
    encryption_salt: str | None

    def program_env(self) -> dict[str, str]:
        return {
            "PULUMI_CONFIG": json.dumps(self.values, sort_keys=True),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(self.secret_keys)),
        }


_MISSING = object()


def _path_get(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _type_ok(type_: str, value: Any) -> bool:
    # pulumi/pulumi sdk/go/common/workspace ValidateConfigValue, for the plain (non-object) stack values.
    if type_ == "string":
        return not isinstance(value, (dict, list))  # a YAML scalar of any kind is a string config value
    if type_ == "integer":
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            or (isinstance(value, str) and value.lstrip("-").isdigit())
        )
    if type_ == "boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
    if type_ == "array":
        return isinstance(value, list)
    return True


def load_stack_config(
    project: Project,
    stack: str,
    overrides: dict[str, str] | None = None,
    secret_overrides: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> StackConfig:
    """The program's config, merged as the CLI's `mergeConfig` (sdk/go/common/workspace/config.go) does.

    Stack file values (secure ones decrypted, also nested in objects) ← `-c` / `--secret` (what `pulumi up -c`
    and `pulumi config set --secret` would have written to the stack file) ← project `config:` defaults for
    keys (or `object.field` paths) the stack lacks. A project key of the project's namespace without a
    default and missing from the stack is an error, as are a non-secure value for a `secret: true` key and
    a value not of the declared type.
    """
    path = project.stack_file(stack)
    doc: dict[str, Any] = {}
    if path.exists():
        doc = yaml.safe_load(path.read_text()) or {}
    salt = doc.get("encryptionsalt")
    manager: PassphraseSecretsManager | None = None

    def get_manager() -> PassphraseSecretsManager:
        nonlocal manager
        if manager is None:
            if not salt:
                raise ProjectError(
                    f"{path}: secure config values found but the stack file has no encryptionsalt"
                )
            try:
                manager = PassphraseSecretsManager.from_state(read_passphrase(env), salt)
            except PassphraseError as exc:
                raise ProjectError(f"unable to decrypt configuration for stack '{stack}': {exc}") from exc
        return manager

    def decrypt(raw: Any) -> tuple[Any, bool]:
        if isinstance(raw, dict) and set(raw) == {"secure"}:
            return get_manager().decrypt(str(raw["secure"])), True
        if isinstance(raw, dict):
            pairs = {k: decrypt(v) for k, v in raw.items()}
            return {k: v for k, (v, _) in pairs.items()}, any(sec for _, sec in pairs.values())
        if isinstance(raw, list):
            items = [decrypt(v) for v in raw]
            return [v for v, _ in items], any(sec for _, sec in items)
        return raw, False

    values: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for key, raw in (doc.get("config") or {}).items():
        full = project.qualify(str(key))
        values[full], secure = decrypt(raw)
        if secure:
            secret_keys.add(full)
    for key, value in (overrides or {}).items():
        values[project.qualify(key)] = value
        secret_keys.discard(project.qualify(key))
    for key, value in (secret_overrides or {}).items():
        values[project.qualify(key)] = value
        secret_keys.add(project.qualify(key))

    missing: list[str] = []
    problems: list[str] = []
    for key in sorted(project.schema or {}):
        spec = project.schema[key]
        if not isinstance(spec, dict):
            spec = {"value": spec}
        full = project.qualify(key)
        namespace, _, rest = full.partition(":")
        top, *path_parts = rest.split(".")
        top_key = f"{namespace}:{top}"
        current = _path_get(values.get(top_key, _MISSING), path_parts) if top_key in values else _MISSING
        if current is _MISSING:
            default = spec.get("default", spec.get("value", _MISSING))
            if default is _MISSING:
                if namespace == project.name:
                    missing.append(key)
                continue
            if not path_parts:
                values[top_key] = default
            else:
                obj = values.get(top_key)
                if not isinstance(obj, dict):
                    obj = {}
                node = obj
                for part in path_parts[:-1]:
                    node = node.setdefault(part, {})
                node[path_parts[-1]] = default
                values[top_key] = obj
            continue
        if spec.get("secret") and top_key not in secret_keys:
            problems.append(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        type_ = spec.get("type")
        if type_ and not _type_ok(type_, current):
            problems.append(f"Stack '{stack}' with configuration key '{key}' must be of type '{type_}'")
    if missing:
        word = "value" if len(missing) == 1 else "values"
        quoted = [f"'{k}'" for k in missing]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
        raise ProjectError(f"Stack '{stack}' is missing configuration {word} {listed}")
    if problems:
        raise ProjectError(problems[0])
    if salt and manager is None:
        try:
            manager = PassphraseSecretsManager.from_state(read_passphrase(env), salt)
        except PassphraseError:
            manager = None  # no secure values to read; state encryption will report if it needs one
    return StackConfig(
        values={k: _config_string(v) for k, v in values.items()},
        secret_keys=secret_keys,
        secrets_manager=manager,
        encryption_salt=salt,
    )


def set_stack_config(
    project: Project,
    stack: str,
    key: str,
    value: str,
    *,
    secret: bool = False,
    env: dict[str, str] | None = None,
) -> None:
    """`pulumi config set [--secret]`: writes the stack file; a secret adds an encryptionsalt if missing."""
    path = project.stack_file(stack)
    doc: dict[str, Any] = yaml.safe_load(path.read_text()) or {} if path.exists() else {}
    config = doc.setdefault("config", {}) or {}
    doc["config"] = config
    full = project.qualify(key)
    if secret:
        passphrase = read_passphrase(env)
        salt = doc.get("encryptionsalt")
        manager = (
            PassphraseSecretsManager.from_state(passphrase, salt)
            if salt
            else PassphraseSecretsManager.new(passphrase)
        )
        doc["encryptionsalt"] = manager.state
        config[full] = {"secure": manager.encrypt(value)}
    else:
        config[full] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    # encryptionsalt first, like the CLI writes it.
    header: tuple[str, ...] = ("secretsprovider", "encryptedkey", "encryptionsalt")
    ordered: dict[str, Any] = {k: doc[k] for k in header if k in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(ordered, sort_keys=False))
    os.replace(tmp, path)
