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
    return json.dumps(value)


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


def load_stack_config(
    project: Project,
    stack: str,
    overrides: dict[str, str] | None = None,
    secret_overrides: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> StackConfig:
    """Stack file merged with project defaults and `-c`/`--secret` (later wins), secure values decrypted."""
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

    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, spec in (project.schema or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            values[project.qualify(key)] = _config_string(spec["default"])
        elif not isinstance(spec, dict):
            values[project.qualify(key)] = _config_string(spec)
    for key, raw in (doc.get("config") or {}).items():
        full = project.qualify(str(key))
        if isinstance(raw, dict) and set(raw) == {"secure"}:
            values[full] = get_manager().decrypt(str(raw["secure"]))
            secret_keys.add(full)
        else:
            values[full] = _config_string(raw)
    for key, value in (overrides or {}).items():
        values[project.qualify(key)] = value
        secret_keys.discard(project.qualify(key))
    for key, value in (secret_overrides or {}).items():
        values[project.qualify(key)] = value
        secret_keys.add(project.qualify(key))
    if salt and manager is None:
        try:
            manager = PassphraseSecretsManager.from_state(read_passphrase(env), salt)
        except PassphraseError:
            manager = None  # no secure values to read; state encryption will report if it needs one
    return StackConfig(values=values, secret_keys=secret_keys, secrets_manager=manager, encryption_salt=salt)


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
