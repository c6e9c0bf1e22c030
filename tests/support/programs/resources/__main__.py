"""Provider test program: the resources to build come from config, so one program serves every scenario.

``test:resources`` is a JSON list of ``{"name", "type", "inputs", "opts"?}``; ``type`` is ``module.Class``
under
``providers`` (e.g. ``integration_user.IntegrationUser``). An input value ``"$ref:<name>.<output>"`` is
another
resource's output (a real dependency); ``"$secret:<key>"`` is the secret config value ``test:<key>``. ``opts``
may set ``protect``, ``retain_on_delete`` and ``depends_on`` (a list of names). Each resource's outputs are
exported under its name.
"""

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pulumi

# The dynamic provider is pickled by reference (providers.<module>.<Provider>); both this program and the
# provider process must import the repository's `providers` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

config = pulumi.Config("test")
built: dict[str, pulumi.Resource] = {}


def resolve(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("$ref:"):
        name, attribute = value[len("$ref:") :].split(".", 1)
        return getattr(built[name], attribute)
    if isinstance(value, str) and value.startswith("$secret:"):
        return config.require_secret(value[len("$secret:") :])
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    return value


for spec in json.loads(config.require("resources")):
    module_name, class_name = spec["type"].rsplit(".", 1)
    cls = getattr(importlib.import_module(f"providers.{module_name}"), class_name)
    raw_opts = dict(spec.get("opts") or {})
    opts = pulumi.ResourceOptions(
        protect=raw_opts.get("protect"),
        retain_on_delete=raw_opts.get("retain_on_delete"),
        depends_on=[built[n] for n in raw_opts.get("depends_on", [])],
    )
    resource = cls(spec["name"], **resolve(spec.get("inputs") or {}), opts=opts)
    built[spec["name"]] = resource
    pulumi.export(spec["name"], {"id": resource.id})
