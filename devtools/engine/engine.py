"""The deployment engine: resource monitor, step generation/execution, deletes, refresh and destroy.

Shape follows pulumi/pulumi `pkg/resource/deploy` (source_eval.go's resource monitor, step_generator.go,
step_executor.go, step.go): the program registers resources over the ResourceMonitor gRPC service; each
registration becomes a step (same/create/update/replace) run before the RegisterResource call returns, so
dependents wait for what they depend on and independent resources run in parallel. After the program
finishes, resources it no longer registers are deleted in reverse dependency order. The snapshot is written
after every step, so a failure mid-deployment keeps what was done.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2,
    resource_pb2,
    resource_pb2_grpc,
)

from .project import Project, StackConfig
from .provider_host import ProviderError, ProviderHost, from_struct, to_struct
from .secrets import PassphraseError, PassphraseSecretsManager, read_passphrase
from .state import (
    UNKNOWN,
    Props,
    ResourceState,
    StateStore,
    annotate_secrets,
    deployment_json,
    deployment_salt,
    is_secret,
    now,
    props_equal,
    resources_from_deployment,
    strip_secrets,
    wrap_secret,
)

DYNAMIC_PACKAGE = "pulumi-python"
STACK_TYPE = "pulumi:pulumi:Stack"
UNBOUNDED = 2147483647  # math.MaxInt32, the cap on PULUMI_PARALLEL


def default_parallel(env: dict[str, str] | None = None) -> int:
    """The CLI's `--parallel` default (pkg/cmd/pulumi/operations/up.go, defaultParallel, used by preview, up,
    refresh and destroy alike): PULUMI_PARALLEL when it is above 0 (capped at MaxInt32), else
    4 × GOMAXPROCS, i.e. 4 × the CPUs this process may run on (pulumi/pulumi#14989)."""
    raw = (os.environ if env is None else env).get("PULUMI_PARALLEL", "")
    try:
        wanted = int(raw)
    except ValueError:
        wanted = 0
    if wanted > 0:
        return min(wanted, UNBOUNDED)
    return 4 * len(os.sched_getaffinity(0))
_LANGHOST = Path(__file__).with_name("langhost.py")


class DeploymentError(Exception):
    pass


@dataclass
class Step:
    urn: str
    type: str
    op: str  # same | create | update | replace | delete | read | refresh ops
    # The provider's changed keys (the CLI's `diffReasons`, DiffResponse.diffs): a Python dynamic provider
    # sends none, so this stays empty for it (pkg/resource/plugin/provider_plugin.go, provider.Diff).
    diffs: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    error: str | None = None
    hidden: bool = False  # default providers are not shown, as in the CLI
    delete_first: bool = False  # a deleteBeforeReplace replacement
    # Preview only: inputs still unknown because another resource's output feeds them (property → the
    # resources it comes from). `pulumi preview --diff` shows these as `output<string>`; we name the source.
    wiring: dict[str, list[str]] = field(default_factory=dict)
    # What the CLI's progress display lists as `[diff: ~key]` when the provider gives no detailed diff: the
    # old inputs against the new ones, internal `__` keys left out (pkg/backend/display/rows.go getDiffInfo).
    input_diff: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"urn": self.urn, "type": self.type, "op": self.op, "diffs": list(self.diffs)}
        if self.input_diff:
            doc["inputDiff"] = list(self.input_diff)
        if self.replaces:
            doc["replaces"] = list(self.replaces)
        if self.error is not None:
            doc["error"] = self.error
        if self.wiring:
            doc["wiring"] = {k: list(v) for k, v in self.wiring.items()}
        return doc


@dataclass
class Result:
    steps: list[Step]
    outputs: Props
    errors: list[str]
    diagnostics: list[str]
    ok: bool
    duration: float

    def changes(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "replace": 0, "delete": 0, "same": 0}
        for step in self.steps:
            if step.hidden or step.error is not None:  # a failed step changed nothing it can count
                continue
            key = step.op if step.op in counts else None
            if key is not None:
                counts[key] += 1
        return counts

    def has_changes(self) -> bool:
        return any(s.op != "same" for s in self.steps if not s.hidden)


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def _set_ignored(news: Props, olds: Props, path: str) -> None:
    """`ignoreChanges` path: keep the old value (or absence) at a (dotted) property path."""
    parts = path.replace("[", ".").replace("]", "").split(".")
    src: Any = olds
    dst: Any = news
    for part in parts[:-1]:
        if not isinstance(src, dict) or part not in src or not isinstance(dst, dict):
            return
        src = src[part]
        dst = dst.setdefault(part, {}) if isinstance(dst.get(part), dict) or part not in dst else dst[part]
    last = parts[-1]
    if not isinstance(dst, dict):
        return
    if isinstance(src, dict) and last in src:
        dst[last] = src[last]
    else:
        dst.pop(last, None)


def apply_ignore_changes(olds: Props, news: Props, paths: Iterable[str]) -> Props:
    import copy

    result = copy.deepcopy(news)
    for path in paths:
        if path == "*":
            return copy.deepcopy(olds)
        _set_ignored(result, olds, path)
    return result


def changed_keys(olds: Props, news: Props) -> list[str]:
    keys = set(olds) | set(news)
    return sorted(k for k in keys if not props_equal(strip_secrets(olds.get(k)), strip_secrets(news.get(k))))


def filter_refresh_deletes(resources: list[ResourceState]) -> list[ResourceState]:
    """Drop references to resources a refresh found deleted (pkg/engine FilterRefreshDeletes, as the snapshot
    manager applies it after a refresh; `rebuildBaseState` in the deployment executor does the same).

    In snapshot order: a dependency or property dependency on a URN not seen before is dropped (an emptied
    property-dependency key goes with it); a vanished parent is replaced by its own nearest surviving parent.
    Without this the snapshot refers to a missing resource and `pulumi stack import` refuses it.
    """
    available_parents: dict[str, str] = {}
    referenceable: set[str] = set()
    result: list[ResourceState] = []
    for res in resources:
        deps = [d for d in res.dependencies if d in referenceable]
        prop_deps = {
            k: [u for u in urns if u in referenceable] for k, urns in res.property_dependencies.items()
        }
        prop_deps = {k: v for k, v in prop_deps.items() if v}
        parent = res.parent
        if parent and parent not in referenceable:
            parent = available_parents.get(res.parent, "")
        if parent:
            available_parents[res.urn] = parent
        referenceable.add(res.urn)
        if deps != res.dependencies or prop_deps != res.property_dependencies or parent != res.parent:
            res = res.copy()
            res.dependencies, res.property_dependencies, res.parent = deps, prop_deps, parent
        result.append(res)
    return result


def input_diff(olds: Props, news: Props) -> list[str]:
    """getDiffInfo's key list: `resource.IsInternalPropertyKey` (`__` prefix, e.g. `__provider`) left out."""
    return [k for k in changed_keys(olds, news) if not k.startswith("__")]


class Deployment:
    """One engine run (`preview`, `up`, `refresh` or `destroy`) of one stack."""

    def __init__(
        self,
        project: Project,
        stack: str,
        config: StackConfig,
        store: StateStore,
        *,
        parallel: int | None = None,
        env: dict[str, str] | None = None,
        on_step: Callable[[Step], None] | None = None,
        run_program: bool = False,
        clear_pending_creates: bool = False,
    ) -> None:
        self.project = project
        # `refresh` / `destroy --run-program`: the provider gets the current config, as when the program runs.
        self.current_config = run_program
        self.stack = stack
        self.config = config
        self.store = store
        self.env = dict(os.environ if env is None else env)
        self.parallel = parallel if parallel and parallel > 0 else default_parallel(self.env)
        self.on_step = on_step
        self.preview = False
        self._sem = threading.BoundedSemaphore(self.parallel) if self.parallel < UNBOUNDED else None
        self._lock = threading.RLock()
        self.steps: list[Step] = []
        self.errors: list[str] = []
        self.diagnostics: list[str] = []
        self.failed = False
        self.stack_outputs: Props = {}
        self.root_urn = ""

        deployment = store.read_deployment()
        salt = deployment_salt(deployment) if deployment else None
        self.manager: PassphraseSecretsManager | None = config.secrets_manager
        self._manager_error = ""
        try:
            if salt and (self.manager is None or self.manager.state != salt):
                self.manager = PassphraseSecretsManager.from_state(read_passphrase(self.env), salt)
            elif self.manager is None:
                # A stack without an encryptionsalt: the state gets a fresh passphrase salt of its own (the
                # stack file is only written by `config set`).
                self.manager = PassphraseSecretsManager.new(read_passphrase(self.env))
        except PassphraseError as exc:
            if salt:
                raise DeploymentError(f"unable to open the state's secrets: {exc}") from exc
            self._manager_error = str(exc)
        self._salt = salt
        old = resources_from_deployment(deployment, self.manager) if deployment else []
        self.old_list: list[ResourceState] = old
        self.old: dict[str, ResourceState] = {r.urn: r for r in old if not r.delete}
        self.pending_old_deletes: list[ResourceState] = [r for r in old if r.delete]
        self.new_list: list[ResourceState] = []
        self.processed: set[str] = set()  # old URNs superseded by a step of this run
        self.replaced_pending: list[ResourceState] = []  # create-before-delete leftovers
        self.registered: set[str] = set()
        self._pending_op: dict[str, str] = {}
        self._gone: set[str] = set()
        self._program: ProgramProcess | None = None
        # Dependents deleted ahead of a delete-before-replace, to be created again when registered.
        self._early_deleted: dict[str, ResourceState] = {}
        # Old resources a delete-before-replace has deleted and whose replacement is not created yet: they
        # stay in the snapshot marked `pendingReplacement` (step.go DeleteStep.Apply), dependents after them.
        self._pending_replace: dict[str, ResourceState] = {}
        self._in_flight: dict[int, tuple[str, ResourceState]] = {}  # provider calls under way (pending ops)
        # pkg/backend/snapshot.go (snap): every new snapshot carries the base snapshot's pending CREATE
        # operations ("these must require user intervention to be cleared or resolved") and drops the other
        # kinds; `pulumi refresh --clear-pending-creates` removes them (pkg/cmd/pulumi/operations/refresh.go).
        previous = list((deployment or {}).get("pending_operations") or [])
        self.kept_pending = [
            op for op in previous if op.get("type") == "creating" and not clear_pending_creates
        ]
        self.previous_pending = previous
        self._default_provider: ResourceState | None = None
        self.host: ProviderHost | None = None
        self._engine_server: grpc.Server | None = None
        self.engine_address = ""

    # -- plumbing --
    @property
    def stack_urn(self) -> str:
        return self.make_urn("", STACK_TYPE, f"{self.project.name}-{self.stack}")

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified = type_
        if parent and qualified_type(parent) != STACK_TYPE:
            qualified = qualified_type(parent) + "$" + type_
        return f"urn:pulumi:{self.stack}::{self.project.name}::{qualified}::{name}"

    def _start_engine_services(self, monitor: bool) -> str:
        # The SDK's message limit (pulumi/runtime/_grpc_settings.py): registrations carry pickled providers.
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), options=_GRPC_CHANNEL_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(_EngineServicer(self), server)
        if monitor:
            resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_MonitorServicer(self), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._engine_server = server
        self.engine_address = f"127.0.0.1:{port}"
        return self.engine_address

    def provider_config(self) -> Props:
        """The default provider's inputs: the whole stack config, namespaced keys, secrets marked.

        pkg/resource/deploy/target.go GetPackageConfig ("For dynamic providers, we always pass the full
        configuration", keys kept namespaced); the step generator registers the default provider with these
        as its inputs, so they are saved in state with it.
        """
        return {
            k: (wrap_secret(v) if k in self.config.secret_keys else v)
            for k, v in sorted(self.config.values.items())
        }

    def _saved_provider_config(self) -> tuple[dict[str, str], set[str]]:
        """The config the provider is configured with for `refresh` and `destroy`.

        Without `--run-program` no program registers a provider, so the engine loads the default provider
        from the snapshot with the inputs saved at the last `up` (pkg/resource/deploy/providers/registry.go,
        NewRegistry / loadProvider, given the old provider resources' inputs) — config changed since then does
        not reach it. With `--run-program` the program's registration brings the current config.
        """
        prefix = f"urn:pulumi:{self.stack}::{self.project.name}"
        saved = self.old.get(f"{prefix}::pulumi:providers:{DYNAMIC_PACKAGE}::default")
        if self.current_config or saved is None or not saved.inputs:
            return self.config.values, self.config.secret_keys
        values = {k: v for k, v in strip_secrets(saved.inputs).items() if isinstance(v, str)}
        return values, {k for k, v in saved.inputs.items() if is_secret(v)}

    def _start_provider_host(self, warm: bool, saved_config: bool = False) -> None:
        values, secret_keys = (
            self._saved_provider_config() if saved_config else (self.config.values, self.config.secret_keys)
        )
        self.host = ProviderHost(
            cwd=self.project.directory,
            config=values,
            secret_keys=secret_keys,
            env=self._provider_env(),
            engine_address=self.engine_address,
        )
        if warm:
            # Start now, in the background: the plugin's import time overlaps the program's.
            threading.Thread(target=self._warm_host, daemon=True).start()

    def _warm_host(self) -> None:
        assert self.host is not None
        # A start failure is remembered and reported by the first real call.
        with contextlib.suppress(Exception):
            self.host.start()

    def _provider_env(self) -> dict[str, str]:
        env = dict(self.env)
        env.update(
            {
                "PULUMI_PROJECT": self.project.name,
                "PULUMI_STACK": self.stack,
                "PULUMI_ORGANIZATION": "organization",
            }
        )
        return env

    def _shutdown(self) -> None:
        if self.host is not None:
            self.host.close()
            self.diagnostics.extend(self.host.stderr_lines)
        if self._engine_server is not None:
            self._engine_server.stop(0)

    @staticmethod
    def _is_dynamic(res: ResourceState) -> bool:
        return res.custom and res.type.split(":")[0] == DYNAMIC_PACKAGE

    def _record(self, step: Step) -> None:
        with self._lock:
            self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    def save(self) -> None:
        """Journal the snapshot: what this run produced so far, then the old resources it has not touched."""
        if self.preview:
            return
        with self._lock:
            resources = list(self.new_list)
            # A pending replacement before the dependents deleted ahead of it, which refer to it.
            resources += list(self._pending_replace.values()) + list(self._early_deleted.values())
            resources += [r for r in self.old_list if not r.delete and r.urn not in self.processed]
            resources += self.replaced_pending
            resources += self.pending_old_deletes
            doc = deployment_json(resources, self.manager, self._salt)
            pending = [
                {"resource": res.to_json(self.manager), "type": kind}
                for kind, res in self._in_flight.values()
            ]
            pending += self.kept_pending
            if pending:
                doc["pending_operations"] = pending
            # Written under the lock: a snapshot built earlier must never land after a later one, or a step
            # already recorded is lost from the file. The CLI's snapshot manager serializes its writes the
            # same way (pulumi/pulumi pkg/backend/snapshot.go: mutationRequests, "retired serially" by
            # SnapshotManager.defaultServiceLoop, which persists after each).
            self.store.write_deployment(doc)

    @contextlib.contextmanager
    def _pending(self, kind: str, res: ResourceState) -> Iterator[None]:
        """Journal an in-flight provider call as a pending operation (`pending_operations` in the deployment):
        if the engine dies before the call returns, the next run warns about it, as the CLI does."""
        if self.preview:
            yield
            return
        token = object()
        with self._lock:
            self._in_flight[id(token)] = (kind, res.copy())
        self.save()
        try:
            yield
        finally:
            with self._lock:
                del self._in_flight[id(token)]

    def _slot(self) -> Any:
        return self._sem if self._sem is not None else _NullContext()

    # -- program registrations --
    def default_provider_ref(self) -> str:
        with self._lock:
            if self._default_provider is None:
                prefix = f"urn:pulumi:{self.stack}::{self.project.name}"
                urn = f"{prefix}::pulumi:providers:{DYNAMIC_PACKAGE}::default"
                old = self.old.get(urn)
                res = ResourceState(urn=urn, type=f"pulumi:providers:{DYNAMIC_PACKAGE}", custom=True)
                config = self.provider_config()
                if old is not None:
                    res = old.copy()
                    # A dynamic provider has no DiffConfig: changed config is an update of the (hidden)
                    # default provider, never a replacement.
                    op = "same" if props_equal(strip_secrets(old.inputs), strip_secrets(config)) else "update"
                    if op == "update":
                        res.modified = now()
                else:
                    res.id = UNKNOWN if self.preview else str(uuid.uuid4())
                    res.created = res.modified = now()
                    op = "create"
                res.inputs = config
                res.outputs = dict(config)
                self._default_provider = res
                self.registered.add(urn)
                self.processed.add(urn)
                self.new_list.append(res)
                self._record(Step(urn, res.type, op, hidden=True))
                self.save()
            return f"{self._default_provider.urn}::{self._default_provider.id}"

    def register(self, req: resource_pb2.RegisterResourceRequest) -> resource_pb2.RegisterResourceResponse:
        urn = self.make_urn(req.parent, req.type, req.name)
        if self.failed:
            raise DeploymentError("the deployment was canceled after an earlier error")
        with self._lock:
            if urn in self.registered:
                raise DeploymentError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
            self.registered.add(urn)
        old = self.old.get(urn) if urn not in self._early_deleted else None
        if old is None and urn not in self._early_deleted:
            for alias in req.aliasURNs:
                if alias in self.old:
                    old = self.old[alias]
                    break
        inputs = from_struct(req.object)
        base = ResourceState(
            urn=urn,
            type=req.type,
            custom=req.custom,
            parent=req.parent,
            protect=bool(req.protect),
            retain_on_delete=bool(req.retainOnDelete),
            dependencies=list(req.dependencies),
            property_dependencies={k: list(v.urns) for k, v in req.propertyDependencies.items()},
            additional_secret_outputs=list(req.additionalSecretOutputs),
            ignore_changes=list(req.ignoreChanges),
            replace_on_changes=list(req.replaceOnChanges),
            delete_before_replace=bool(req.deleteBeforeReplace),
        )
        if req.type == STACK_TYPE:
            self.root_urn = urn
        if not req.custom:
            return self._register_component(base, old, inputs)
        if req.type.split(":")[0] != DYNAMIC_PACKAGE or req.provider:
            raise DeploymentError(
                f"{urn}: only dynamic resources with the default pulumi-python provider are supported "
                "by this engine"
            )
        return self._register_custom(base, old, inputs, req)

    def _register_component(
        self, res: ResourceState, old: ResourceState | None, inputs: Props
    ) -> resource_pb2.RegisterResourceResponse:
        res.inputs = inputs
        if old is None:
            op, diffs = "create", []
            res.created = res.modified = now()
        else:
            res.outputs = old.outputs
            res.created = old.created
            diffs = changed_keys(old.inputs, inputs)
            op = "update" if diffs else "same"
            res.modified = now() if diffs else old.modified
            diffs = input_diff(old.inputs, inputs)
        with self._lock:
            self.new_list.append(res)
            if old is not None:
                self.processed.add(old.urn)
        self._record(Step(res.urn, res.type, op, input_diff=diffs))
        self.save()
        return resource_pb2.RegisterResourceResponse(urn=res.urn, object=to_struct({}))

    def _fail(self, res: ResourceState, op: str, message: str) -> DeploymentError:
        with self._lock:
            self.failed = True
            self.errors.append(f"{res.type} ({res.name}):\n    error: {message}")
        self._record(Step(res.urn, res.type, op, error=message))
        return DeploymentError(message)

    def _register_custom(
        self,
        res: ResourceState,
        old: ResourceState | None,
        inputs: Props,
        req: resource_pb2.RegisterResourceRequest,
    ) -> resource_pb2.RegisterResourceResponse:
        assert self.host is not None
        res.provider = self.default_provider_ref()
        news = apply_ignore_changes(old.inputs, inputs, res.ignore_changes) if old is not None else inputs
        with self._slot():
            try:
                checked, failures = self.host.check(
                    res.urn, res.name, res.type, old.inputs if old is not None else {}, news
                )
            except ProviderError as exc:
                raise self._fail(res, "create" if old is None else "update", str(exc)) from None
            if failures:
                message = "\n".join(
                    f"{res.type} resource '{res.name}': property {prop} value has a problem: {reason}"
                    if prop
                    else f"{res.type} resource '{res.name}' has a problem: {reason}"
                    for prop, reason in failures
                )
                raise self._fail(res, "create" if old is None else "update", message)
            checked = annotate_secrets(checked, news)
            res.inputs = checked
            try:
                if old is None:
                    return self._do_create(res, checked)
                return self._do_diff_and_apply(res, old, checked, req)
            except ProviderError as exc:
                raise self._fail(res, self._pending_op.get(res.urn, "update"), str(exc)) from None

    def _finish_outputs(self, res: ResourceState, outs: Props) -> Props:
        outs = annotate_secrets(outs, res.inputs)
        for key in res.additional_secret_outputs:
            if key in outs:
                outs[key] = wrap_secret(outs[key])
        return outs

    def _respond(self, res: ResourceState, outputs: Props, id_: str) -> resource_pb2.RegisterResourceResponse:
        return resource_pb2.RegisterResourceResponse(
            urn=res.urn,
            id="" if id_ == UNKNOWN else id_,
            object=to_struct(outputs),
            result=resource_pb2.Result.SUCCESS,
        )

    def _do_create(self, res: ResourceState, checked: Props) -> resource_pb2.RegisterResourceResponse:
        assert self.host is not None
        with self._lock:
            replaced = self._early_deleted.pop(res.urn, None)
        # The second half of a dependent replacement: its old self was deleted before its dependency.
        step = (
            Step(res.urn, res.type, "replace", delete_first=True,
                 input_diff=input_diff(replaced.inputs, checked))  # fmt: skip
            if replaced is not None
            else Step(res.urn, res.type, "create")
        )
        self._pending_op[res.urn] = step.op
        if self.preview:
            step.wiring = _wiring(res, checked)
            self._record(step)
            return self._respond(res, checked, "")
        with self._pending("creating", res):
            id_, outs = self.host.create(res.urn, res.name, res.type, checked)
        res.id = id_
        res.outputs = self._finish_outputs(res, outs)
        res.created = res.modified = now()
        with self._lock:
            self.new_list.append(res)
        self._record(step)
        self.save()
        return self._respond(res, res.outputs, res.id)

    def _delete_dependent_replacements(self, root: ResourceState) -> None:
        """Before a delete-before-replace, delete the dependents that its replacement forces to be replaced.

        As `calculateDependentReplacements` in pkg/resource/deploy/step_generator.go: walk the old state's
        transitive dependents of the root; give each the old inputs with every property that depends on a
        to-be-replaced resource made unknown, and ask its provider's Diff; those that would be replaced are
        deleted now, dependents first, and created again when the program registers them.
        """
        assert self.host is not None
        replaced = {root.urn}
        doomed: list[ResourceState] = []
        with self._lock:
            candidates = [r for r in self.old_list if not r.delete and r.urn not in self.processed]
        for dep in candidates:
            if not self._is_dynamic(dep) or dep.urn == root.urn:
                continue
            uses = set(dep.dependencies)
            for urns in dep.property_dependencies.values():
                uses.update(urns)
            if not uses & replaced:
                continue
            inputs = dict(dep.inputs)
            for key, urns in dep.property_dependencies.items():
                if set(urns) & replaced:
                    inputs[key] = UNKNOWN
            diff = self.host.diff(
                dep.urn, dep.name, dep.type, dep.id, dep.outputs, dep.inputs, inputs, dep.ignore_changes
            )
            if diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces):
                replaced.add(dep.urn)
                doomed.append(dep)
        for dep in reversed(doomed):
            if dep.protect:
                raise DeploymentError(_protect_message("replace", dep.urn))
            self._delete_for_replacement(dep, self._early_deleted)

    def _delete_for_replacement(
        self, old: ResourceState, marks: dict[str, ResourceState], *, delete: bool = True
    ) -> None:
        """Delete-before-replace: delete ``old`` (unless retained, or ``delete`` is False because an earlier
        run already did) and keep it in state as ``pendingReplacement`` until its replacement exists."""
        assert self.host is not None
        if delete and not old.retain_on_delete:
            with self._pending("deleting", old):
                self.host.delete(old.urn, old.name, old.type, old.id, old.outputs, old.inputs)
        marked = old.copy()
        marked.pending_replacement = True
        with self._lock:
            self.processed.add(old.urn)
            marks[old.urn] = marked
        self.save()

    def _do_diff_and_apply(
        self,
        res: ResourceState,
        old: ResourceState,
        checked: Props,
        req: resource_pb2.RegisterResourceRequest,
    ) -> resource_pb2.RegisterResourceResponse:
        assert self.host is not None
        self._pending_op[res.urn] = "update"
        diff = self.host.diff(
            res.urn, res.name, res.type, old.id, old.outputs, old.inputs, checked, res.ignore_changes
        )
        shown = input_diff(old.inputs, checked)
        reasons = list(diff.diffs)
        if diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
            changed = False
        elif diff.changes == provider_pb2.DiffResponse.DIFF_SOME:
            changed = True
        else:  # DIFF_UNKNOWN: the engine's own input diff (step_generator.go diffResource)
            reasons = changed_keys(old.inputs, checked)
            changed = bool(reasons)
        if old.pending_replacement:  # step_generator.go: `diff.Replace() || ... || old.PendingReplacement`
            changed = True
        keys = reasons or shown
        replaces = list(diff.replaces)
        if changed:
            for key in res.replace_on_changes:
                if key == "*" or key in keys:
                    replaces.append(key if key != "*" else (keys[0] if keys else "*"))
        diffs = sorted(reasons) if changed else []
        shown = shown if changed else []
        dbr = res.delete_before_replace if req.deleteBeforeReplaceDefined else bool(diff.deleteBeforeReplace)
        dbr = dbr or old.pending_replacement
        res.delete_before_replace = res.delete_before_replace or bool(diff.deleteBeforeReplace)
        res.created = old.created
        if not changed:
            res.id = old.id
            res.outputs = old.outputs
            res.modified = old.modified
            with self._lock:
                self.new_list.append(res)
                self.processed.add(old.urn)
            self._record(Step(res.urn, res.type, "same"))
            self.save()
            return self._respond(res, old.outputs, old.id)
        if not replaces and old.pending_replacement:
            replaces = ["*"]  # nothing to update: the old one is gone
        if not replaces:
            self._pending_op[res.urn] = "update"
            if self.preview:
                self._record(Step(res.urn, res.type, "update", diffs, input_diff=shown))
                return self._respond(res, checked, old.id)
            with self._pending("updating", old):
                outs = self.host.update(
                    res.urn, res.name, res.type, old.id, old.outputs, old.inputs, checked, res.ignore_changes
                )
            res.id = old.id
            res.outputs = self._finish_outputs(res, outs)
            res.modified = now()
            with self._lock:
                self.new_list.append(res)
                self.processed.add(old.urn)
            self._record(Step(res.urn, res.type, "update", diffs, input_diff=shown))
            self.save()
            return self._respond(res, res.outputs, res.id)
        # replace
        self._pending_op[res.urn] = "replace"
        if old.protect:
            raise self._fail(res, "replace", _protect_message("replace", old.urn))
        step = Step(res.urn, res.type, "replace", diffs, replaces=sorted(set(replaces)), delete_first=dbr,
                    input_diff=shown)  # fmt: skip
        if self.preview:
            self._record(step)
            return self._respond(res, checked, "")
        if dbr:
            # Already deleted by an earlier run whose create failed: "we don't need to emit any step"
            # (step_generator.go), only the create.
            if not old.pending_replacement:
                self._delete_dependent_replacements(old)
            self._delete_for_replacement(old, self._pending_replace, delete=not old.pending_replacement)
            with self._pending("creating", res):
                id_, outs = self.host.create(res.urn, res.name, res.type, checked)
            with self._lock:
                self._pending_replace.pop(old.urn, None)
        else:
            with self._pending("creating", res):
                id_, outs = self.host.create(res.urn, res.name, res.type, checked)
            pending = old.copy()
            pending.delete = True
            with self._lock:
                self.processed.add(old.urn)
                self.replaced_pending.append(pending)
        res.id = id_
        res.outputs = self._finish_outputs(res, outs)
        res.created = res.modified = now()
        with self._lock:
            self.new_list.append(res)
        self._record(step)
        self.save()
        return self._respond(res, res.outputs, res.id)

    def register_outputs(self, urn: str, outputs: Props) -> None:
        with self._lock:
            for res in self.new_list:
                if res.urn == urn:
                    res.outputs = outputs
            if urn == self.root_urn or urn == self.stack_urn:
                self.stack_outputs = outputs
        self.save()

    def read_resource(self, req: resource_pb2.ReadResourceRequest) -> resource_pb2.ReadResourceResponse:
        """`Resource.get`: read an existing resource by ID into state as external (a `read` step)."""
        assert self.host is not None
        urn = self.make_urn(req.parent, req.type, req.name)
        with self._lock:
            self.registered.add(urn)
        props = from_struct(req.properties)
        res = ResourceState(urn=urn, type=req.type, custom=True, parent=req.parent, external=True)
        res.provider = self.default_provider_ref()
        with self._slot():
            try:
                id_, outs, _ = self.host.read(urn, req.name, req.type, req.id, props, props)
            except ProviderError as exc:
                raise self._fail(res, "read", str(exc)) from None
        if not id_:
            raise self._fail(res, "read", f"resource '{req.id}' does not exist")
        res.id = id_
        res.outputs = outs
        with self._lock:
            self.new_list.append(res)
            if urn in self.old:
                self.processed.add(urn)
        self._record(Step(urn, req.type, "read"))
        self.save()
        return resource_pb2.ReadResourceResponse(urn=urn, id=id_, properties=to_struct(outs))

    # -- deletes --
    def _delete_one(self, res: ResourceState) -> None:
        if res.protect:
            raise DeploymentError(_protect_message("delete", res.urn))
        if self.preview:
            return
        # A pending replacement is already gone from the provider (step_generator.go: no delete for it).
        gone = res.retain_on_delete or res.external or res.pending_replacement
        if self._is_dynamic(res) and not gone:
            assert self.host is not None
            with self._slot(), self._pending("deleting", res):
                self.host.delete(res.urn, res.name, res.type, res.id, res.outputs, res.inputs)

    def run_deletes(self, doomed: list[ResourceState]) -> None:
        """Delete in reverse dependency order: a resource goes only after everything that depends on it."""
        remaining = {id(r): r for r in doomed}
        by_urn: dict[str, list[ResourceState]] = {}
        for r in doomed:
            by_urn.setdefault(r.urn, []).append(r)
        workers = min(self.parallel, 32)
        with futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            while remaining:
                blocked: set[int] = set()
                for r in remaining.values():
                    for ref in r.references():
                        for dep in by_urn.get(ref, []):
                            if id(dep) in remaining and dep is not r:
                                blocked.add(id(dep))
                wave = [r for key, r in remaining.items() if key not in blocked]
                if not wave:  # a cycle cannot happen in a valid snapshot; fall back to reverse order
                    wave = [list(remaining.values())[-1]]
                results = {pool.submit(self._delete_one, r): r for r in wave}
                first_error: BaseException | None = None
                for fut, r in results.items():
                    try:
                        fut.result()
                    except (DeploymentError, ProviderError) as exc:
                        with self._lock:
                            self.failed = True
                            self.errors.append(f"{r.type} ({r.name}):\n    error: {exc}")
                        self._record(Step(r.urn, r.type, "delete", error=str(exc), hidden=r.is_provider))
                        first_error = first_error or exc
                        continue
                    with self._lock:
                        self.processed.add(r.urn)
                        if r in self.replaced_pending:
                            self.replaced_pending.remove(r)
                        if r in self.pending_old_deletes:
                            self.pending_old_deletes.remove(r)
                        self.new_list = [n for n in self.new_list if n is not r]
                    if not r.delete:  # a replaced resource's old half is part of the replace step
                        self._record(Step(r.urn, r.type, "delete", hidden=r.is_provider))
                    self.save()
                    del remaining[id(r)]
                if first_error is not None:
                    return

    def _warn_pending(self) -> None:
        """pkg/resource/deploy/deployment_executor.go printPendingOperationsWarning (not in a preview)."""
        if not self.previous_pending:
            return
        listed = "".join(
            f"  * {(op.get('resource') or {}).get('urn', '?')}, interrupted while {op.get('type', '?')}\n"
            for op in self.previous_pending
        )
        self.diagnostics.append(
            "warning: Attempting to deploy or update resources "
            f"with {len(self.previous_pending)} pending operations from previous deployment.\n"
            + listed
            + "These resources are in an unknown state because the Pulumi CLI was interrupted while waiting "
            "for changes to these resources to complete. You should confirm whether or not the operations "
            "listed completed successfully by checking the state of the appropriate provider. For example, "
            "if you are using AWS, you can confirm using the AWS Console.\n\n"
            "Once you have confirmed the status of the interrupted operations, you can repair your stack "
            "using `pulumi refresh` which will refresh the state from the provider you are using and clear "
            "the pending operations if there are any.\n\n"
            "Note that `pulumi refresh` will need to be run interactively to clear pending CREATE operations."
        )

    # -- verbs --
    def _require_manager(self) -> None:
        # Every dynamic resource carries its pickled provider as a secret: writing state needs the passphrase.
        if self.manager is None:
            raise DeploymentError(self._manager_error or "no secrets provider available")

    def run_program(self, preview: bool, program: ProgramProcess | None = None) -> Result:
        started = time.monotonic()
        self._program = program
        self.preview = preview
        if not preview:
            self._require_manager()
        address = self._start_engine_services(monitor=True)
        self._start_provider_host(warm=True)
        if not preview:
            self._warn_pending()
        program_ok = False
        try:
            program = self._program or ProgramProcess.spawn(
                self.project, self.stack, preview=preview, parallel=self.parallel, env=self.env
            )
            self._program = None
            returncode, stdout, stderr = program.run(address, self.config.program_env())
            for stream in (stdout, stderr):
                if stream.strip():
                    self.diagnostics.append(stream.rstrip())
            program_ok = returncode == 0 and not self.failed
            if returncode != 0 and not self.errors:
                self.errors.append(
                    "an unhandled error occurred: the Python program exited with a non-zero code"
                )
            if program_ok:
                for gone in list(self._early_deleted.values()):  # deleted for a replacement, then dropped
                    self._record(Step(gone.urn, gone.type, "delete"))
                doomed = [
                    r
                    for r in reversed(self.old_list)
                    if not r.delete and r.urn not in self.registered and r.urn not in self._early_deleted
                ]
                if not self.preview:
                    with self._lock:
                        self._early_deleted.clear()
                doomed = self.replaced_pending[::-1] + doomed + self.pending_old_deletes
                if self.preview:
                    for r in doomed:
                        if r.protect:
                            self.errors.append(
                                f"{r.type} ({r.name}):\n    error: {_protect_message('delete', r.urn)}"
                            )
                            self.failed = True
                        elif not r.delete:
                            self._record(Step(r.urn, r.type, "delete", hidden=r.is_provider))
                else:
                    self.run_deletes(doomed)
            if not self.preview:
                self.save()
        finally:
            self._shutdown()
        # An error diagnostic fails the update even when the program exits 0, as in the real engine.
        ok = program_ok and not self.failed and not self.errors
        return Result(
            self.steps, self.stack_outputs, self.errors, self.diagnostics, ok, time.monotonic() - started
        )

    def refresh(self) -> Result:
        started = time.monotonic()
        self._require_manager()
        self._start_engine_services(monitor=False)
        self._start_provider_host(warm=any(self._is_dynamic(r) for r in self.old_list), saved_config=True)
        self._warn_pending()
        try:
            # RefreshStep.Apply: "Component, provider, and pending-replace resources never change with a
            # refresh".
            targets = [
                r for r in self.old_list if self._is_dynamic(r) and not r.delete and not r.pending_replacement
            ]
            for r in self.old_list:
                if r not in targets and not r.delete:
                    self._record(Step(r.urn, r.type, "same", hidden=r.is_provider))
            workers = max(1, min(self.parallel, 32))
            with futures.ThreadPoolExecutor(max_workers=workers) as pool:
                for r, fut in [(r, pool.submit(self._refresh_one, r)) for r in targets]:
                    try:
                        fut.result()
                    except ProviderError as exc:
                        self.failed = True
                        self.errors.append(f"{r.type} ({r.name}):\n    error: {exc}")
                        self._record(Step(r.urn, r.type, "refresh", error=str(exc)))
            with self._lock:
                self.new_list = filter_refresh_deletes([r for r in self.old_list if r.urn not in self._gone])
                self.processed = {r.urn for r in self.old_list}
                self.pending_old_deletes = []
            self.save()
            stack = next((r for r in self.old_list if r.type == STACK_TYPE), None)
            self.stack_outputs = stack.outputs if stack is not None else {}
        finally:
            self._shutdown()
        return Result(
            self.steps,
            self.stack_outputs,
            self.errors,
            self.diagnostics,
            not self.failed,
            time.monotonic() - started,
        )

    def _refresh_one(self, res: ResourceState) -> None:
        """pkg/resource/deploy/step.go RefreshStep.Apply: Read, then the provider's own Diff decides.

        The diff is the one a no-change `up` right after this refresh would see, taken backwards: the
        refreshed inputs and outputs go where the old ones are expected and the inputs from before the refresh
        where the new ones are; its Changes (not an output comparison) makes the step `update` or `same`
        (ResultOp). External resources (`Resource.get`) compare outputs only, as RefreshStep does for
        `s.old.External`.
        """
        assert self.host is not None
        with self._slot():
            id_, outs, read_inputs = self.host.read(
                res.urn, res.name, res.type, res.id, res.outputs, res.inputs
            )
        if not id_:
            with self._lock:
                self._gone.add(res.urn)
            self._record(Step(res.urn, res.type, "delete"))
            return
        outs = annotate_secrets(outs, res.outputs)
        for key in res.additional_secret_outputs:
            if key in outs:
                outs[key] = wrap_secret(outs[key])
        # "If the provider specified new inputs for this resource, pick them up now. Otherwise, retain the
        # current inputs."
        inputs = annotate_secrets(read_inputs, res.inputs) if read_inputs is not None else res.inputs
        input_keys = input_diff(res.inputs, inputs)
        if res.external:
            output_keys = changed_keys(res.outputs, outs)
            changed, reasons = bool(output_keys), output_keys
        else:
            with self._slot():
                diff = self.host.diff(
                    res.urn, res.name, res.type, id_, outs, inputs, res.inputs, res.ignore_changes
                )
            reasons = list(diff.diffs)
            if diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN:
                # diffResource: an unknown answer becomes the engine's own input diff.
                reasons = changed_keys(inputs, res.inputs)
                changed = bool(reasons)
            else:
                changed = diff.changes == provider_pb2.DiffResponse.DIFF_SOME
        with self._lock:
            if input_keys or changed_keys(res.outputs, outs):
                res.modified = now()
            res.outputs = outs
            res.id = id_
            res.inputs = inputs
        step = Step(res.urn, res.type, "update" if changed else "same", reasons if changed else [],
                    input_diff=input_keys if changed else [])
        self._record(step)

    def destroy(self) -> Result:
        started = time.monotonic()
        self._require_manager()
        self._start_engine_services(monitor=False)
        self._start_provider_host(warm=any(self._is_dynamic(r) for r in self.old_list), saved_config=True)
        self._warn_pending()
        try:
            protected = [r for r in self.old_list if r.protect and not r.delete]
            if protected:
                for r in protected:
                    self.errors.append(
                        f"{r.type} ({r.name}):\n    error: {_protect_message('delete', r.urn)}"
                    )
                self.failed = True
            else:
                # Journal = what is not yet deleted; run_deletes drops each resource as it goes.
                self.new_list = [r for r in self.old_list if not r.delete]
                self.processed = {r.urn for r in self.old_list}
                doomed = list(reversed(self.new_list)) + self.pending_old_deletes
                self.run_deletes(doomed)
                self.save()
        finally:
            self._shutdown()
        return Result(
            self.steps, {}, self.errors, self.diagnostics, not self.failed, time.monotonic() - started
        )


def _protect_message(action: str, urn: str) -> str:
    # The wording of pulumi/pulumi pkg/resource/deploy/step_generator.go for protected resources.
    return (
        f'unable to {action} resource "{urn}"\n'
        "as it is currently marked for protection. To unprotect the resource, either remove the "
        "`protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:\n"
        f"`pulumi state unprotect '{urn}'`"
    )


class ProgramProcess:
    """The language host running the program (`langhost.py`).

    Spawned as early as possible, before config is decrypted, so Python start-up and the SDK import overlap
    the engine's own start; it blocks on stdin until `run()` hands it the monitor address and the config
    environment, which it puts in os.environ before the SDK reads it (so the program sees exactly the
    PULUMI_* variables the real language host sets).
    """

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    @classmethod
    def spawn(
        cls, project: Project, stack: str, *, preview: bool, parallel: int | None, env: dict[str, str]
    ) -> ProgramProcess:
        parallel = parallel if parallel and parallel > 0 else default_parallel(env)
        full_env = dict(env)
        full_env.update(
            {
                "PULUMI_PROJECT": project.name,
                "PULUMI_STACK": stack,
                "PULUMI_ORGANIZATION": "organization",
                "PULUMI_DRY_RUN": "true" if preview else "false",
                "PULUMI_PARALLEL": str(parallel),
                "PYTHONUNBUFFERED": "1",
            }
        )
        cmd = [sys.executable, "-u", str(_LANGHOST), "--project", project.name, "--stack", stack,
               "--organization", "organization", "--root_directory", str(project.directory),
               "--parallel", str(parallel), "--dry_run", "true" if preview else "false",
               "--pwd", str(project.directory), "--settings-from-stdin", str(project.main)]  # fmt: skip
        proc = subprocess.Popen(
            cmd, cwd=str(project.directory), env=full_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        return cls(proc)

    def run(self, address: str, config_env: dict[str, str]) -> tuple[int, str, str]:
        settings = {"monitor": address, "engine": address, "env": {**config_env,
                    "PULUMI_MONITOR": address, "PULUMI_ENGINE": address}}  # fmt: skip
        stdout, stderr = self.proc.communicate(json.dumps(settings) + "\n")
        return self.proc.returncode, stdout, stderr

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    def __init__(self, deployment: Deployment) -> None:
        self.d = deployment

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        text = request.message.rstrip()
        if request.severity == engine_pb2.ERROR:
            with self.d._lock:
                # Program errors after a failed step are the SDK reporting that same failure again.
                if not self.d.failed:
                    self.d.errors.append(text)
        elif request.severity in (engine_pb2.INFO, engine_pb2.WARNING):
            prefix = "warning: " if request.severity == engine_pb2.WARNING else ""
            self.d.diagnostics.append(prefix + text)
        return empty_pb2.Empty()

    def GetRootResource(
        self, request: Any, context: grpc.ServicerContext
    ) -> engine_pb2.GetRootResourceResponse:
        return engine_pb2.GetRootResourceResponse(urn=self.d.root_urn)

    def SetRootResource(
        self, request: engine_pb2.SetRootResourceRequest, context: grpc.ServicerContext
    ) -> Any:
        self.d.root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()

    def RequirePulumiVersion(self, request: Any, context: grpc.ServicerContext) -> Any:
        return engine_pb2.RequirePulumiVersionResponse()


class _MonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    """The ResourceMonitor the SDK talks to (`source_eval.go`'s resmon)."""

    FEATURES = [
        resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
        resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
    ]

    def __init__(self, deployment: Deployment) -> None:
        self.d = deployment

    def SupportsFeature(
        self, request: resource_pb2.SupportsFeatureRequest, context: grpc.ServicerContext
    ) -> Any:
        return resource_pb2.SupportsFeatureResponse(
            hasSupport=request.id in ("secrets", "resourceReferences")
        )

    def GetDeploymentInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return resource_pb2.DeploymentInfo(supportedFeatures=self.FEATURES)

    def RegisterResource(
        self, request: resource_pb2.RegisterResourceRequest, context: grpc.ServicerContext
    ) -> resource_pb2.RegisterResourceResponse:
        try:
            return self.d.register(request)
        except DeploymentError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        except Exception as exc:  # noqa: BLE001 - an engine bug must still end the program cleanly
            with self.d._lock:
                self.d.failed = True
                self.d.errors.append(
                    f"internal engine error registering {request.type} {request.name}: {exc!r}"
                )
            context.abort(grpc.StatusCode.INTERNAL, str(exc))
        raise AssertionError("unreachable")

    def RegisterResourceOutputs(
        self, request: resource_pb2.RegisterResourceOutputsRequest, context: Any
    ) -> Any:
        self.d.register_outputs(request.urn, from_struct(request.outputs))
        return empty_pb2.Empty()

    def ReadResource(self, request: resource_pb2.ReadResourceRequest, context: grpc.ServicerContext) -> Any:
        try:
            return self.d.read_resource(request)
        except DeploymentError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        raise AssertionError("unreachable")

    def Invoke(self, request: resource_pb2.ResourceInvokeRequest, context: grpc.ServicerContext) -> Any:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"invoke of {request.tok} is not supported by this engine"
        )

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def RegisterStackTransform(self, request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "transforms are not supported by this engine")


def _contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


def _wiring(res: ResourceState, inputs: Props) -> dict[str, list[str]]:
    """Which still-unknown inputs another resource's output will fill in, by that resource's name."""
    return {
        key: sorted(urn.rsplit("::", 1)[-1] for urn in urns)
        for key, urns in sorted(res.property_dependencies.items())
        if urns and key in inputs and _contains_unknown(inputs[key])
    }
