"""The `pulumi-python` resource provider plugin: a spawned `python -m pulumi.dynamic`, spoken to over gRPC.

The real engine starts `pulumi-resource-pulumi-python <engine-address>` (a wrapper for
`python -u -m pulumi.dynamic`) in the program directory, reads the port it prints, and calls
`Configure` once. Since pulumi/pulumi#17229 / #17673 dynamic providers get the *whole* stack config with
namespaced keys (also as PULUMI_CONFIG in the environment), which is what makes
`pulumi.dynamic.Config` work in `ResourceProvider.configure()`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from .state import Props, normalise, strip_secrets, wrap_secret


class ProviderError(Exception):
    """A provider call failed; the message is what the provider sent (for a Python dynamic provider, the
    traceback text `pulumi.dynamic` aborts with)."""


def to_struct(props: Props) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(props)
    return s


def from_struct(s: struct_pb2.Struct) -> Props:
    return normalise(json_format.MessageToDict(s)) if s is not None else {}


def provider_message(details: str) -> str:
    """The error as the real CLI shows it: the gRPC status message unchanged.

    The SDK's dynamic provider host aborts every failed call with `traceback.format_exc()`
    (pulumi/dynamic/__main__.py, `_abort_with_traceback`), and the engine reports the status message as the
    step's error (pkg/resource/plugin/provider_plugin.go: `rpcerror.Convert(err)`), so the user sees the
    whole traceback, ending with the exception's own line.
    """
    return (details or "").strip() or "unknown provider error"


class ProviderHost:
    """One provider process per engine run; the channel stays open for every call."""

    def __init__(
        self,
        cwd: Path,
        config: dict[str, str],
        secret_keys: set[str],
        env: dict[str, str],
        engine_address: str,
    ) -> None:
        self._cwd = cwd
        self._config = config
        self._secret_keys = secret_keys
        self._env = env
        self._engine_address = engine_address
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self._channel: grpc.Channel | None = None
        self._start_error: Exception | None = None
        self._stderr_tail: list[str] = []
        # What the plugin wrote to stderr: the real engine shows each line to the user as an info-error
        # diagnostic (sdk/go/common/resource/plugin/plugin.go, newPlugin's runtrace: errStreamID →
        # ctx.Diag.Infoerrf), e.g. a dynamic provider's logging warnings.
        self.stderr_lines: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self.configured = 0  # how many Configure calls this process got (tests assert exactly one)

    # -- lifecycle --
    def start(self) -> None:
        with self._lock:
            if self._stub is not None:
                return
            if self._start_error is not None:
                raise self._start_error
            try:
                self._start_locked()
            except Exception as exc:
                self._start_error = exc
                raise

    def _start_locked(self) -> None:
        env = dict(self._env)
        env["PULUMI_CONFIG"] = json.dumps(self._config, sort_keys=True)
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(sorted(self._secret_keys))
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic", self._engine_address],
            cwd=str(self._cwd),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().decode().strip()
        # Keep both pipes flowing: a provider that prints would otherwise block on a full pipe.
        self._stderr_thread = threading.Thread(
            target=self._drain, args=(self._proc.stderr, self.stderr_lines), daemon=True
        )
        self._stderr_thread.start()
        threading.Thread(target=self._drain, args=(self._proc.stdout,), daemon=True).start()
        if not line.isdigit():
            self._proc.wait(timeout=10)
            raise ProviderError(
                "could not start the pulumi-python provider plugin: "
                + ("".join(self._stderr_tail[-5:]) or line)
            )
        self._channel = grpc.insecure_channel(f"127.0.0.1:{line}", options=_GRPC_CHANNEL_OPTIONS)
        grpc.channel_ready_future(self._channel).result(timeout=30)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        args: Props = {
            k: (wrap_secret(v) if k in self._secret_keys else v) for k, v in sorted(self._config.items())
        }
        self._call(
            "Configure",
            provider_pb2.ConfigureRequest(
                variables=dict(self._config),
                args=to_struct(args),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
            ),
        )
        self.configured += 1

    def _drain(self, pipe: Any, keep: list[str] | None = None) -> None:
        if pipe is None:
            return
        for raw in pipe:
            text = raw.decode(errors="replace")
            self._stderr_tail.append(text)
            del self._stderr_tail[:-50]
            if keep is not None and text.strip():
                keep.append(text.rstrip())

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                # Every call has returned; the plugin holds no state worth a graceful stop.
                self._proc.kill()
                self._proc.wait()
            if self._stderr_thread is not None:
                self._stderr_thread.join(timeout=2)  # every line written before the kill is kept
            if self._channel is not None:
                # Closed after the peer is gone: closing a live channel first lingers ~150 ms.
                self._channel.close()
            self._stub = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- calls --
    def _call(self, method: str, request: Any) -> Any:
        if self._stub is None:
            raise ProviderError("provider not started")
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED) or (
                self._proc is not None and self._proc.poll() is not None
            ):
                raise ProviderError(
                    "the pulumi-python provider plugin exited unexpectedly "
                    f"(exit code {self._proc.poll() if self._proc else '?'}) during {method}"
                ) from None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise ProviderError(provider_message(details or "")) from None

    def _stub_call(self, method: str, request: Any) -> Any:
        self.start()
        return self._call(method, request)

    def check(
        self, urn: str, name: str, type_: str, olds: Props, news: Props
    ) -> tuple[Props, list[tuple[str, str]]]:
        resp = self._stub_call(
            "Check",
            provider_pb2.CheckRequest(
                urn=urn,
                name=name,
                type=type_,
                olds=to_struct(strip_secrets(olds)),
                news=to_struct(strip_secrets(news)),
            ),
        )
        failures = [(f.property, f.reason) for f in resp.failures]
        return from_struct(resp.inputs), failures

    def diff(
        self,
        urn: str,
        name: str,
        type_: str,
        id_: str,
        old_outputs: Props,
        old_inputs: Props,
        news: Props,
        ignore_changes: list[str],
    ) -> provider_pb2.DiffResponse:
        return self._stub_call(
            "Diff",
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn,
                name=name,
                type=type_,
                olds=to_struct(strip_secrets(old_outputs)),
                news=to_struct(strip_secrets(news)),
                old_inputs=to_struct(strip_secrets(old_inputs)),
                ignoreChanges=ignore_changes,
            ),
        )

    def create(self, urn: str, name: str, type_: str, inputs: Props) -> tuple[str, Props]:
        resp = self._stub_call(
            "Create",
            provider_pb2.CreateRequest(
                urn=urn, name=name, type=type_, properties=to_struct(strip_secrets(inputs))
            ),
        )
        if not resp.id:
            raise ProviderError(f"provider did not return an ID from Create for {urn}")
        return resp.id, from_struct(resp.properties)

    def update(
        self,
        urn: str,
        name: str,
        type_: str,
        id_: str,
        old_outputs: Props,
        old_inputs: Props,
        news: Props,
        ignore_changes: list[str],
    ) -> Props:
        resp = self._stub_call(
            "Update",
            provider_pb2.UpdateRequest(
                id=id_,
                urn=urn,
                name=name,
                type=type_,
                olds=to_struct(strip_secrets(old_outputs)),
                news=to_struct(strip_secrets(news)),
                old_inputs=to_struct(strip_secrets(old_inputs)),
                ignoreChanges=ignore_changes,
            ),
        )
        return from_struct(resp.properties)

    def delete(self, urn: str, name: str, type_: str, id_: str, outputs: Props, inputs: Props) -> None:
        self._stub_call(
            "Delete",
            provider_pb2.DeleteRequest(
                id=id_,
                urn=urn,
                name=name,
                type=type_,
                properties=to_struct(strip_secrets(outputs)),
                old_inputs=to_struct(strip_secrets(inputs)),
            ),
        )

    def read(
        self, urn: str, name: str, type_: str, id_: str, outputs: Props, inputs: Props
    ) -> tuple[str, Props, Props | None]:
        resp = self._stub_call(
            "Read",
            provider_pb2.ReadRequest(
                id=id_,
                urn=urn,
                name=name,
                type=type_,
                properties=to_struct(strip_secrets(outputs)),
                inputs=to_struct(strip_secrets(inputs)),
            ),
        )
        new_inputs = from_struct(resp.inputs) if resp.HasField("inputs") else None
        return resp.id, from_struct(resp.properties), new_inputs

    def plugin_info(self) -> str:
        from google.protobuf import empty_pb2

        info: plugin_pb2.PluginInfo = self._stub_call("GetPluginInfo", empty_pb2.Empty())
        return str(info.version)
