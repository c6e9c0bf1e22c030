"""Stack configuration merged as the CLI's mergeConfig does (sdk/go/common/workspace/config.go)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.engine.api import REPO_ROOT, engine_env
from devtools.engine.project import Project, ProjectError, load_stack_config

# pulumi/pulumi pkg/secrets/passphrase/manager_test.go: a salt state the real CLI wrote with passphrase
# "password". Its tail is itself a CLI-encrypted value of the word "pulumi", so it doubles as a `secure:`
# config value written by the real CLI.
CLI_SALT = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
CLI_SECURE_PULUMI = "v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
ENV = {"PULUMI_CONFIG_PASSPHRASE": "password"}


def _project(tmp_path: Path, schema: str = "", stack_file: str = "") -> Project:
    (tmp_path / "Pulumi.yaml").write_text(f"name: proj\nruntime: python\nstackConfigDir: stacks\n{schema}")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(stack_file)
    return Project.load(tmp_path)


def test_a_stack_file_written_by_the_real_cli_decrypts(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        stack_file=f"encryptionsalt: {CLI_SALT}\nconfig:\n  proj:word:\n    secure: {CLI_SECURE_PULUMI}\n",
    )
    config = load_stack_config(project, "dev", env=ENV)
    assert config.values == {"proj:word": "pulumi"}
    assert config.secret_keys == {"proj:word"}


def test_secure_values_nested_in_objects_make_the_key_secret(tmp_path: Path) -> None:
    stack = f"encryptionsalt: {CLI_SALT}\nconfig:\n  proj:obj:\n    user: u\n"
    stack += f"    pw:\n      secure: {CLI_SECURE_PULUMI}\n"
    config = load_stack_config(_project(tmp_path, stack_file=stack), "dev", env=ENV)
    assert json.loads(config.values["proj:obj"]) == {"user": "u", "pw": "pulumi"}
    assert config.secret_keys == {"proj:obj"}


def test_project_defaults_fill_missing_keys_and_object_paths(tmp_path: Path) -> None:
    schema = (
        "config:\n  flag:\n    type: boolean\n    default: false\n"
        "  list:\n    type: array\n    default: [a, b]\n"
        "  user.first:\n    type: string\n    default: ECI\n  user.name:\n    type: string\n"
    )
    stack = "config:\n  proj:user:\n    name: me\n"
    config = load_stack_config(_project(tmp_path, schema, stack), "dev", env=ENV)
    assert config.values["proj:flag"] == "false"
    assert json.loads(config.values["proj:list"]) == ["a", "b"]
    assert json.loads(config.values["proj:user"]) == {"name": "me", "first": "ECI"}


def test_required_project_keys_missing_from_the_stack_are_reported_like_the_cli(tmp_path: Path) -> None:
    schema = "config:\n  needed:\n    type: string\n  alsoNeeded: {type: string}\n  other:x: {type: string}\n"
    with pytest.raises(
        ProjectError, match="Stack 'dev' is missing configuration values 'alsoNeeded' and 'needed'"
    ):
        load_stack_config(_project(tmp_path, schema), "dev", env=ENV)


def test_cli_overrides_win_and_secret_keys_must_be_secret(tmp_path: Path) -> None:
    schema = "config:\n  token:\n    type: string\n    secret: true\n  count:\n    type: integer\n"
    project = _project(tmp_path, schema, "config:\n  proj:count: 3\n")
    with pytest.raises(ProjectError, match="'token' must be encrypted as it's secret"):
        load_stack_config(project, "dev", {"token": "plain"}, env=ENV)
    config = load_stack_config(project, "dev", {"count": "4"}, {"token": "t"}, env=ENV)
    assert config.values == {"proj:count": "4", "proj:token": "t"}
    with pytest.raises(ProjectError, match="'count' must be of type 'integer'"):
        load_stack_config(project, "dev", {"count": "many"}, {"token": "t"}, env=ENV)


def test_config_set_reads_a_value_left_out_from_stdin_like_the_cli(tmp_path: Path) -> None:
    """pulumi/pulumi pkg/cmd/pulumi/config/config.go, configSetCmd.Run: with no value argument and stdin not
    a terminal, the value is read from stdin, trailing newline removed — so a secret never enters argv."""
    _project(tmp_path, stack_file="config: {}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.engine", "config", "set", "--stack", "dev", "--cwd", str(tmp_path),
         "--secret", "proj:token"],
        input="piped-secret-value-42\n", cwd=str(REPO_ROOT), env=engine_env(ENV), capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    stack_file = (tmp_path / "stacks" / "Pulumi.dev.yaml").read_text()
    assert "piped-secret-value-42" not in stack_file and "secure:" in stack_file
    config = load_stack_config(Project.load(tmp_path), "dev", env=ENV)
    assert config.values["proj:token"] == "piped-secret-value-42" and "proj:token" in config.secret_keys
