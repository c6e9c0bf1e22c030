"""What the real CLI checks in a deployment it imports: Pulumi's JSON schemas and the snapshot's integrity.

- Schemas: `sdk/go/common/apitype/*.json` of the sdk/v3 Go module the CLI is built from (v3.276.0, from the
  module proxy: devtools/pulumi_cli/build.py apitype_schemas); the CLI
  validates an imported deployment against `deployments.json` (pkg/resource/stack/deployment.go,
  ValidateUntypedDeployment), which refers to the other two by `$id`.
- Integrity: pkg/resource/deploy/snapshot.go, Snapshot.VerifyIntegrity, the reference rules ported (every
  provider, parent, dependency and property dependency must be an earlier resource; one live state per URN),
  with its messages. The manifest's magic cookie is not checked here.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource

from devtools.pulumi_cli import build


@cache
def _registry() -> tuple[dict[str, Any], Registry]:
    docs = {p.stem: json.loads(p.read_text()) for p in build.apitype_schemas().glob("*.json")}
    registry: Registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in docs.values()
    )
    return docs["deployments"], registry


# Fields of apitype.ResourceV3 (sdk/go/common/apitype/core.go, the type the CLI reads state into) that
# resources.json, which says `additionalProperties: false`, does not list: the schema lags behind the type
# (the CLI writes `created`/`modified` into every state since 2023), and only Pulumi's own tests run
# ValidateUntypedDeployment. These are left out before validating; any other key must pass the schema.
RESOURCE_V3_FIELDS_MISSING_FROM_SCHEMA = frozenset({
    "taint", "retainOnDelete", "deletedWith", "replaceWith", "created", "modified", "sourcePosition",
    "stackTrace", "ignoreChanges", "hideDiff", "replaceOnChanges", "replacementTrigger",
    "refreshBeforeUpdate", "viewOf", "resourceHooks", "extensionRef",
})  # fmt: skip


def schema_errors(untyped: dict[str, Any]) -> list[str]:
    """Every schema violation in an UntypedDeployment ({"version": 3, "deployment": {...}})."""
    schema, registry = _registry()
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    doc = json.loads(json.dumps(untyped))
    for res in (doc.get("deployment") or {}).get("resources") or []:
        for key in RESOURCE_V3_FIELDS_MISSING_FROM_SCHEMA & set(res):
            del res[key]
    errors = []
    for error in validator.iter_errors(doc):
        # A oneOf failure says only "is not valid under any of the given schemas": name the deepest causes.
        causes = [c for c in error.context or [] if c.validator != "oneOf"] or [error]
        errors += [f"{'/'.join(map(str, c.absolute_path))}: {c.message[:300]}" for c in causes]
    return errors


def integrity_errors(untyped: dict[str, Any]) -> list[str]:
    resources = (untyped.get("deployment") or {}).get("resources") or []
    seen: dict[str, int] = {}
    providers: set[str] = set()
    errors: list[str] = []
    for res in resources:
        urn = res["urn"]
        if res["type"].startswith("pulumi:providers:"):
            providers.add(f"{urn}::{res.get('id', '')}")
        provider = res.get("provider")
        if provider and provider not in providers and not res.get("pendingReplacement"):
            errors.append(f"resource {urn} refers to unknown provider {provider}")
        if res.get("parent") and res["parent"] not in seen:
            errors.append(f"child resource {urn} refers to missing parent {res['parent']}")
        for dep in res.get("dependencies") or []:
            if dep not in seen:
                errors.append(f"resource {urn}'s dependency {dep} refers to missing resource")
        for key, deps in (res.get("propertyDependencies") or {}).items():
            for dep in deps:
                if dep not in seen:
                    errors.append(
                        f"resource {urn}'s property dependency {dep} (from property {key}) refers to missing "
                        "resource"
                    )
        if urn in seen and not res.get("delete"):
            errors.append(f"duplicate resource {urn} (not marked for deletion)")
        seen[urn] = seen.get(urn, 0) + 1
    return errors


def assert_importable(untyped: dict[str, Any]) -> None:
    problems = schema_errors(untyped) + integrity_errors(untyped)
    assert not problems, "\n".join(problems)
