"""Pulumi.yaml: a valid Pulumi project file that declares every key the program reads."""

from __future__ import annotations

import json

import jsonschema
import pytest

from providers.config.keys import KEYS
from providers.config.stack import SECRET_KEYS, TOP_KEYS, pulumi_yaml_config
from tests.support import REPO, load_project

# CI clones the repo with ../shared beside it (see .ci/run).
SCHEMA = REPO.parent / "shared" / "reference" / "pulumi-project.schema.json"


def test_pulumi_yaml_validates_against_the_pulumi_project_schema() -> None:
    if not SCHEMA.exists():
        pytest.fail(f"{SCHEMA} is missing: the shared reference must sit beside the clone")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(load_project(), schema)


def test_schema_check_would_catch_a_bad_config_declaration() -> None:
    schema = json.loads(SCHEMA.read_text())
    project = load_project()
    project["config"]["contactEmail"] = {"type": "object", "description": "objects are not a config type"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(project, schema)


def test_project_runtime_and_stack_dir() -> None:
    project = load_project()
    assert project["name"] == "eci-aircall"
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    assert project["stackConfigDir"] == "stacks"
    assert (REPO / project["stackConfigDir"]).is_dir()


def test_every_key_the_program_reads_is_declared_with_type_and_description() -> None:
    declared = load_project()["config"]
    tops = {name.split(".")[0] for name in declared}
    assert tops == set(TOP_KEYS), "Pulumi.yaml and the key declarations disagree on the keys"
    for name, decl in declared.items():
        assert decl["type"] in ("string", "boolean", "integer", "array"), name
        assert decl["description"].strip(), name


def test_every_key_has_a_default_so_the_program_reports_what_is_missing() -> None:
    """A declared key without default makes the CLI stop with a bare "missing configuration value"; with a
    default ("" = not set) the program's message, naming the `pulumi config set` command, is what they see."""
    declared = load_project()["config"]
    assert [name for name, decl in declared.items() if "default" not in decl] == []
    required = sorted(n for n, d in declared.items() if d["description"].startswith("Required."))
    assert required == ["aircallApiId", "aircallApiToken", "contactEmail", "integrationUser.username"]
    assert all(declared[key]["default"] == "" for key in required)


def test_secret_keys_say_so_and_none_is_declared_secret_with_a_default() -> None:
    declared = load_project()["config"]
    for key in SECRET_KEYS:
        # `secret: true` with a default would make the CLI reject every stack that leaves the key unset.
        assert "secret" not in declared[key], key
        assert "Secret (set with --secret)" in declared[key]["description"], key


def test_pulumi_yaml_config_block_is_exactly_the_one_generated_from_the_declarations() -> None:
    """Each key is declared once (providers/config/keys.py); Pulumi.yaml is written
    from that by `make generate`, and a hand edit or a forgotten regeneration fails here."""
    text = (REPO / "Pulumi.yaml").read_text()
    assert text[text.index("\nconfig:\n") + 1 :] == pulumi_yaml_config(), "run `make generate`"
    assert list(load_project()["config"]) == [key.name for key in KEYS]


def test_required_pulumi_version_admits_only_clis_that_read_it_and_run_this_project() -> None:
    """The CLI reads the field from 3.219.0 on (pulumi/pulumi#21627; an older CLI ignores it, so a lower bound
    would promise a check that never runs), and this project also needs 3.181.0 (`--client`, fleet.py's
    inline programs), 3.160.0 (`--run-program`) and 3.139.0 (config in dynamic providers, #17673). The CLI
    parses it as a blang/semver range and refuses to run outside it (ValidatePulumiVersionRange;
    tests/pulumi_cli/test_cli_rules.py checks the refusal with the real CLI)."""
    required = load_project()["requiredPulumiVersion"]
    assert required == ">=3.219.0"

    def admits(version: str) -> bool:
        # The one comparator used here, as blang/semver evaluates ">=X.Y.Z".
        wanted = tuple(int(p) for p in required.removeprefix(">=").split("."))
        return tuple(int(p) for p in version.split(".")) >= wanted

    assert not admits("3.218.9") and admits("3.219.0") and admits("3.276.0")
