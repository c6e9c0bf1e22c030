"""docs/contracts.md "Adding an artifact" is complete: for every registered resource, each step's artefact
exists. Three checks live with what they check: the component creating each registered resource
(tests/test_component.py, step 3), its pickled class path pinned (tests/pulumi_cli/test_state_format.py, step
4) and the generated files current (tests/test_generated.py, step 4)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import providers
from devtools.sf_emulator.metadata_types import RULES
from devtools.sf_emulator.schema import SCHEMA
from providers.kit import ArtifactProvider, ArtifactResource, MetadataProvider
from providers.registry import RESOURCES
from tests.support import REPO

CHECKLIST = "### Adding an artifact\n"
#: The resources with an artifact of their own in the org (not Preflight, not the OAuth consumer).
ARTIFACTS = [r for r in RESOURCES if issubclass(r.provider_class, ArtifactProvider)]


def _module(resource: type[ArtifactResource]) -> str:
    return resource.__module__.rsplit(".", 1)[-1]


def test_the_checklist_has_at_most_four_steps() -> None:
    text = (REPO / "docs" / "contracts.md").read_text()
    section = text[text.index(CHECKLIST) :].split("\n###", 1)[0]
    steps = re.findall(r"^(\d+)\. ", section, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, len(steps) + 1)] and 1 <= len(steps) <= 4, steps


def test_step_1_every_resource_of_a_providers_module_is_registered() -> None:
    found: set[type[ArtifactResource]] = set()
    for module in pkgutil.iter_modules(providers.__path__):
        namespace = importlib.import_module(f"providers.{module.name}")
        found |= {
            value
            for value in vars(namespace).values()
            if isinstance(value, type)
            and issubclass(value, ArtifactResource)
            and value.__module__ == namespace.__name__
            and "provider_class" in vars(value)
        }
    assert found == set(RESOURCES), found ^ set(RESOURCES)


@pytest.mark.parametrize("resource", ARTIFACTS, ids=lambda r: r.__name__)
def test_step_2_the_emulator_knows_the_type(resource: type[ArtifactResource]) -> None:
    provider = resource.provider_class
    if issubclass(provider, MetadataProvider):
        assert provider.kind in RULES
    else:
        assert provider.kind.lower() in SCHEMA


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.__name__)
def test_step_3_the_readme_draws_it(resource: type[ArtifactResource]) -> None:
    readme = (REPO / "README.md").read_text()
    graph = readme[readme.index("```mermaid") :].split("```", 2)[1]
    assert re.search(rf"\b{resource.__name__}\b", graph), "not in README.md's resource graph"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.__name__)
def test_step_4_its_tests_sit_beside_it(resource: type[ArtifactResource]) -> None:
    assert (REPO / "tests" / "providers" / f"test_{_module(resource)}.py").is_file()
