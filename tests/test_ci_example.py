"""The README's CI example for many orgs (docs/examples/github-actions.yml): it parses, runs one job per org
stack through GitHub Actions' own matrix, and lists every stack this repository has a stack file for."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support import REPO

WORKFLOW = REPO / "docs" / "examples" / "github-actions.yml"
# The demo stack is the embedded emulator org that `make demo` starts; it is not an org CI can reach.
NOT_AN_ORG = {"demo"}


def stacks_in_repo() -> set[str]:
    """Stack names from stacks/Pulumi.<stack>.yaml, and from the committed starting points
    stacks/Pulumi.<stack>.yaml.example that users copy to a real stack file."""
    stacks = REPO / "stacks"
    names = {p.name[len("Pulumi.") : -len(".yaml")] for p in stacks.glob("Pulumi.*.yaml")}
    names |= {p.name[len("Pulumi.") : -len(".yaml.example")] for p in stacks.glob("Pulumi.*.yaml.example")}
    return names - NOT_AN_ORG


def load() -> dict[str, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(doc, dict)
    return doc


def matrix_stacks(doc: dict[str, Any]) -> list[str]:
    return list(doc["jobs"]["org"]["strategy"]["matrix"]["stack"])


def missing_stacks(doc: dict[str, Any], stacks: set[str]) -> set[str]:
    return stacks - set(matrix_stacks(doc))


def test_the_workflow_parses_and_is_one_job_per_stack_through_the_ci_matrix() -> None:
    doc = load()
    job = doc["jobs"]["org"]
    assert job["strategy"]["fail-fast"] is False  # one bad org never cancels the others
    assert job["name"] == "${{ matrix.stack }}" and job["environment"] == "${{ matrix.stack }}"
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("pulumi/actions@") for u in uses)
    commands = {s["with"]["command"]: s for s in steps if s.get("uses", "").startswith("pulumi/actions@") and
                "with" in s}  # fmt: skip
    assert set(commands) == {"preview", "up"}
    assert all(c["with"]["stack-name"] == "${{ matrix.stack }}" for c in commands.values())
    # The schedule is the status check (a level: it fails on every run while drifted or unhealthy), not
    # `refresh --expect-no-changes`, which stores the drift as its baseline and is green from its second run.
    scheduled = [s for s in steps if "schedule" in str(s.get("if", ""))]
    assert len(scheduled) == 1 and "tools/status.py" in scheduled[0]["run"]
    assert '--stacks "${{ matrix.stack }}"' in scheduled[0]["run"]
    # Secrets come from the CI's store, never from the repository.
    text = WORKFLOW.read_text()
    for name in ("SF_JWT_KEY", "AIRCALL_API_TOKEN", "PULUMI_CONFIG_PASSPHRASE"):
        assert "${{ secrets." + name + " }}" in text


def test_every_stack_in_the_repository_has_a_job() -> None:
    stacks = stacks_in_repo()
    assert stacks, "no org stack files found under stacks/"
    assert not missing_stacks(load(), stacks)
    # The check itself notices a stack added without a job.
    assert missing_stacks(load(), stacks | {"emea"}) == {"emea"}


def test_the_readme_points_to_the_workflow() -> None:
    assert "docs/examples/github-actions.yml" in (REPO / "README.md").read_text()
