"""The pickled provider's class path is part of the state format.

Every dynamic resource keeps its provider in state as `__provider`: a dill pickle that names the provider
class by reference (module and qualified name) and is unpickled from *that* copy by refresh, destroy and any
delete (pulumi/dynamic/__main__.py get_provider). A class moved or renamed without an alias breaks every
existing stack's refresh and destroy with an AttributeError, and a no-op `up` does not repair it. So the paths
are pinned here: a move keeps the old path importable (an alias), and this list only grows.
"""

from __future__ import annotations

import base64
import importlib
import json
import pickletools
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import ResourceProvider

from devtools.pulumi_cli import api
from devtools.sf_emulator.client import EmulatorHandle
from providers.registry import RESOURCES
from tests.support import REPO
from tests.support.demo_stack import STACK, engine

# module:qualname of every provider class a state written by this project's main may pickle.
PICKLED_PROVIDER_CLASSES = frozenset({
    "providers.auth_provider:AuthProviderProvider",
    "providers.connected_app:ConnectedAppProvider",
    "providers.custom_site:CustomSiteProvider",
    "providers.custom_site:SiteGuestUserProvider",
    "providers.external_client_app:ExternalClientAppProvider",
    "providers.integration_user:IntegrationUserProvider",
    "providers.named_credential:NamedCredentialProvider",
    "providers.oauth_consumer:OAuthConsumerProvider",
    "providers.permission_set_assignment:PermissionSetAssignmentProvider",
    "providers.preflight:PreflightProvider",
})  # fmt: skip


@pytest.mark.parametrize("path", sorted(PICKLED_PROVIDER_CLASSES))
def test_every_pinned_provider_class_path_still_resolves(path: str) -> None:
    module, qualname = path.split(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    assert isinstance(obj, type) and issubclass(obj, ResourceProvider)


def test_every_registered_provider_class_is_pinned() -> None:
    """docs/contracts.md "Adding an artifact", step 4: a new provider class joins the list."""
    registered = {f"{r.provider_class.__module__}:{r.provider_class.__qualname__}" for r in RESOURCES}
    assert registered <= PICKLED_PROVIDER_CLASSES, sorted(registered - PICKLED_PROVIDER_CLASSES)


def _classes_in_pickle(blob: bytes) -> set[str]:
    """The module:name pairs a pickle refers to by reference (GLOBAL / STACK_GLOBAL opcodes)."""
    found: set[str] = set()
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(blob):
        if op.name == "GLOBAL":
            module, name = str(arg).split(" ", 1)
            found.add(f"{module}:{name}")
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(str(arg))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.add(f"{strings[-2]}:{strings[-1]}")
    return {f for f in found if f.startswith("providers.")}


def test_a_state_written_by_up_pickles_only_pinned_classes(org: EmulatorHandle, tmp_path: Path) -> None:
    engine("up", org, tmp_path)
    deployment = api.stack_export(stack=STACK, cwd=REPO, state_dir=tmp_path)
    assert deployment["deployment"]["resources"]
    # The CLI decrypts for `stack export --show-secrets` (the pickles are stored as secrets).
    shown = api.cli(
        ["stack", "export", "--show-secrets", "--stack", STACK], work=api.work_copy(REPO, tmp_path),
        state_dir=tmp_path,
    )  # fmt: skip
    resources = json.loads(shown.stdout)["deployment"]["resources"]
    pickled: set[str] = set()
    for resource in resources:
        provider = (resource.get("inputs") or {}).get("__provider")
        if isinstance(provider, dict):  # a secret, shown: {"<sig>": …, "plaintext": "<JSON of the value>"}
            provider = json.loads(provider["plaintext"])
        if provider:
            pickled |= _classes_in_pickle(base64.b64decode(provider))
    assert pickled, "no provider class found in the state's pickles"
    assert pickled <= PICKLED_PROVIDER_CLASSES, sorted(pickled - PICKLED_PROVIDER_CLASSES)
