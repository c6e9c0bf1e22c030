"""Secrets (issue 7): a full lifecycle with recognisable secret values, then a scan of everything it left
behind or printed — state files, the pickled providers inside them (decoded), the engine's human and --json
output, log records and exception messages — for each secret, raw and base64. Zero occurrences."""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

import salesforce
from devtools.pulumi_cli.api import REPO_ROOT, TEST_PASSPHRASE
from devtools.sf_emulator.client import EmulatorHandle
from providers.auth_provider import AuthProviderProvider
from providers.named_credential import NamedCredentialProvider
from tests.support.keys import rsa_key_and_certificate
from tests.support.passphrase import decrypter
from tests.support.reliability import NS, Stack, Target, inject
from tests.support.seeds import consumer_credentials

JWT_CLIENT_ID = "RELIABILITY_JWT_CLIENT_ID_0123456789"


def rsa_pair() -> tuple[str, str]:
    return rsa_key_and_certificate("eci-reliability-jwt")


def register_jwt_app(org: EmulatorHandle, cert: str) -> None:
    """The CI connected app holding the certificate (Salesforce Help: "OAuth 2.0 JWT Bearer Flow for
    Server-to-Server Integration"), created as an admin would, through the Metadata API."""
    md = org.mdapi()
    md.ConnectedApp.create(
        [
            md.ConnectedApp(
                fullName="Reliability_CI_JWT",
                label="Reliability CI JWT",
                contactEmail="ci@demo.example",
                oauthConfig=md.ConnectedAppOauthConfig(
                    callbackUrl=f"{org.instance_url}/services/oauth2/success",
                    scopes=["Api", "RefreshToken"],
                    consumerKey=JWT_CLIENT_ID,
                    certificate=cert,
                ),
            )
        ]
    )


def needles(secrets: Iterable[str]) -> dict[str, bytes]:
    """Each secret as bytes, plus the base64 forms it takes wherever it sits inside an encoded blob: the
    encoding of a substring depends on its offset modulo 3, so the stable middle of each of the 3 alignments
    (standard and URL-safe alphabets)."""
    out: dict[str, bytes] = {}
    for i, secret in enumerate(s for s in secrets if s):
        raw = secret.encode()
        out[f"secret#{i} raw"] = raw
        for pad in range(3):
            for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
                encoded = encode(b"\0" * pad + raw).rstrip(b"=")
                core = encoded[4:-4]
                if len(core) >= 12:
                    out[f"secret#{i} {name}@{pad}"] = core
    return out


def scan(blobs: dict[str, bytes], secrets: Iterable[str]) -> list[str]:
    """Where any secret occurs (names of blob and needle only: never the value)."""
    found = []
    for needle_name, needle in needles(secrets).items():
        for blob_name, blob in blobs.items():
            if needle in blob:
                found.append(f"{needle_name} in {blob_name}")
    return found


def state_blobs(state_dir: Path) -> dict[str, bytes]:
    """Every file under the state directory, and each pickled dynamic provider in any of them, decoded."""
    blobs: dict[str, bytes] = {}
    for path in sorted(p for p in state_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blobs[str(path.relative_to(state_dir))] = data
        for i, pickled in enumerate(_provider_pickles(data)):
            blobs[f"{path.name}: __provider #{i} (decoded pickle)"] = pickled
    return blobs


def _provider_pickles(data: bytes) -> Iterator[bytes]:
    """The serialized dynamic providers (``__provider``) of a checkpoint, decoded to the pickle bytes. The
    SDK stores ``__provider`` as a secret, so it is decrypted first with the stack's passphrase."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return
    latest = (doc.get("checkpoint") or {}).get("latest") or doc.get("deployment") or {}
    salt = ((latest.get("secrets_providers") or {}).get("state") or {}).get("salt")
    decrypt = decrypter(TEST_PASSPHRASE, salt) if salt else None

    def decode(value: Any) -> bytes:
        if isinstance(value, dict) and "ciphertext" in value:
            assert decrypt is not None, "a secret in a checkpoint without a secrets provider"
            value = json.loads(decrypt(value["ciphertext"]))
        return base64.b64decode(str(value))

    def walk(value: Any) -> Iterator[bytes]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "__provider":
                    yield decode(item)
                else:
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    yield from walk(latest)


def test_a_full_lifecycle_leaves_no_secret_anywhere(org: EmulatorHandle, tmp_path: Path) -> None:
    private_key, cert = rsa_pair()
    register_jwt_app(org, cert)
    sfdx_url = org.sfdx_auth_url()
    stack = Stack(org, tmp_path / "state")

    # Connected with the access token: up (--json), a failing up (expired token: an
    # exception travels from the provider to the engine's output), up again.
    up = stack.run("up")
    assert up.outputs["oauthConsumerKey"] == "[secret]"
    blobs = {f"after up: {k}": v for k, v in state_blobs(stack.state_dir).items()}
    assert any("decoded pickle" in name for name in blobs), "no provider pickle found in the state to scan"
    stack.overrides = {"contactEmail": "rotated@demo.example"}  # a change, so `up` calls Salesforce
    inject(org, "invalid_session_id", Target("*", None), count=1000)
    expired = stack.run("up", check=False)
    org.clear_faults()
    assert expired.returncode != 0 and "INVALID_SESSION_ID" in expired.stdout + expired.stderr
    # A wrong (but recognisable) Aircall token: Preflight rejects it; the message must not carry it.
    wrong_token = "Aircall-WRONG-Token-Recognisable-91c2e7"
    stack.overrides = {"aircallApiToken": wrong_token}
    rejected = stack.run("up", check=False)
    assert rejected.returncode != 0 and "aircallApiToken" in rejected.stdout + rejected.stderr
    stack.overrides = {}
    consumer = consumer_credentials(org)

    # Then with the JWT bearer login (the private key is a secret): refresh, human up, destroy.
    stack.auth = "jwt"
    stack.jwt = (JWT_CLIENT_ID, private_key)
    stack.run("refresh")
    _, human = stack.run_human("up")
    assert "[secret]" in human  # the consumer key output, as the CLI shows a secret
    blobs.update({f"after JWT up: {k}": v for k, v in state_blobs(stack.state_dir).items()})
    stack.run("destroy")
    blobs.update({f"after destroy: {k}": v for k, v in state_blobs(stack.state_dir).items()})

    secrets = [
        org.access_token,
        org.aircall_api_token,
        org.password,
        private_key,
        # A PEM line from the middle of the key: a partial leak of the key is still a leak.
        private_key.splitlines()[5],
        sfdx_url.split("::", 1)[1].rsplit("@", 1)[0],  # the refresh token inside the SFDX auth URL
        consumer["key"],
        consumer["secret"],
        wrong_token,
    ]
    # (a resource registered but not yet created holds an empty __provider)
    pickles = [blob for name, blob in blobs.items() if "decoded pickle" in name and blob]
    assert pickles and all(p.startswith(b"\x80") for p in pickles), (
        "no pickled provider decoded from the state"
    )
    blobs.update({f"engine output #{i}": text.encode() for i, text in enumerate(stack.transcript)})
    assert scan(blobs, secrets) == []


# ---------------------------------------------------------------------------------------------------------
# Log records and exception messages, in process (the provider's own logging is not forwarded by the engine)
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ECI_RETRY_BASE_SECONDS", "0.01")
    salesforce.reset_clients()
    yield
    salesforce.reset_clients()


def test_log_records_and_exception_messages_never_carry_a_secret(
    org: EmulatorHandle, caplog: pytest.LogCaptureFixture, fast_retries: None
) -> None:
    private_key, cert = rsa_pair()
    register_jwt_app(org, cert)
    password = "Aircall-Recognisable-Password-7f3a9c"
    consumer_secret = "Consumer-Secret-Recognisable-4b8e1d"
    config = {
        f"{NS}:username": org.username,
        f"{NS}:clientId": JWT_CLIENT_ID,
        f"{NS}:privateKey": private_key,
        f"{NS}:loginUrl": org.instance_url,
        f"{NS}:caBundle": org.ca_cert,
    }
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 and simple-salesforce included
    messages: list[str] = []

    def provider(cls: Any) -> Any:
        p = cls()
        p.configure(ConfigureRequest(Config(config, "eci-aircall")))
        return p

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # every exception raised along the way is scanned
            messages.extend([str(exc), repr(exc), str(exc.__cause__ or ""), str(exc.__context__ or "")])
            return None

    nc = provider(NamedCredentialProvider)
    nc_inputs = {
        "full_name": "Aircall",
        "label": "Aircall",
        "endpoint": "https://api.aircall.io/",
        "protocol": "Password",
        "principal_type": "NamedUser",
        "username": "aircall-id",
        "password": password,
    }
    checked = nc.check({}, nc_inputs).inputs
    created = attempt(nc.create, checked)
    assert created is not None
    # Every kind of failure with the password in the request: transient faults exhausted, an expired session
    # that cannot renew its way out, a Salesforce validation error.
    inject(org, "http_503", Target("metadata.*", None), count=50)
    attempt(nc.update, created.id, created.outs, nc.check(created.outs, {**nc_inputs, "label": "X"}).inputs)
    org.clear_faults()
    inject(org, "invalid_session_id", Target("*", None), count=50)
    attempt(nc.update, created.id, created.outs, nc.check(created.outs, {**nc_inputs, "label": "Y"}).inputs)
    org.clear_faults()
    attempt(nc.create, nc.check({}, {**nc_inputs, "full_name": "Aircall2", "endpoint": "not a url"}).inputs)
    ap = provider(AuthProviderProvider)
    ap_inputs = {
        "full_name": "ECI_Auth_Provider",
        "friendly_name": "ECI Auth Provider",
        "provider_type": "Salesforce",
        "consumer_key": "RELIABILITY_CONSUMER_KEY",
        "consumer_secret": consumer_secret,
    }
    inject(org, "reply_lost", Target("metadata.createMetadata", "ECI_Auth_Provider"))
    ap_created = attempt(ap.create, ap.check({}, ap_inputs).inputs)
    assert ap_created is not None
    attempt(ap.read, ap_created.id, ap_created.outs)
    inject(org, "request_limit_exceeded", Target("*", None), count=50)
    attempt(ap.delete, ap_created.id, ap_created.outs)
    org.clear_faults()
    # The failures above really happened and carried Salesforce's codes (else nothing was scanned).
    for code in ("HTTP_503", "INVALID_SESSION_ID", "REQUEST_LIMIT_EXCEEDED"):
        assert any(code in m for m in messages), code

    blobs = {f"exception message #{i}": m.encode() for i, m in enumerate(messages)}
    for i, rec in enumerate(caplog.records):
        blobs[f"log record #{i} ({rec.name})"] = (
            rec.getMessage() + repr(rec.args) + str(rec.exc_text)
        ).encode()
    assert len(caplog.records) > 0
    assert (
        scan(blobs, [password, consumer_secret, private_key, private_key.splitlines()[5], org.password]) == []
    )


# ---------------------------------------------------------------------------------------------------------
# Secrets never in argv: every process's command line is readable by every user (`ps`, /proc/*/cmdline).
# ---------------------------------------------------------------------------------------------------------
class ArgvWatch:
    """Reads /proc/*/cmdline of every process until stopped; keeps the command lines that hold a secret and
    counts those of the engine (so a scan that saw nothing cannot pass)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = [s for s in secrets if s]
        self.leaks: set[str] = set()
        self.engine_lines = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ArgvWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            for path in Path("/proc").glob("[0-9]*/cmdline"):
                if path.parent.name == str(me):
                    continue
                try:
                    argv = path.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if "pulumi" in argv and " up " in argv:  # the CLI, or our client that starts it
                    self.engine_lines += 1
                for secret in self.secrets:
                    if secret in argv:
                        self.leaks.add(argv.replace(secret, "<SECRET>")[:300])
            time.sleep(0.01)


def _demo_info(org: EmulatorHandle) -> dict[str, Any]:
    """What `python -m devtools.demo` reads from the emulator it starts: here the test's own org, so the
    test knows the tokens to look for."""
    return {
        "instance_url": org.instance_url,
        "ca_cert": org.ca_cert,
        "aircall_url": org.aircall_url,
        "aircall_api_id": org.aircall_api_id,
        "access_token": org.access_token,
        "aircall_api_token": org.aircall_api_token,
    }


def test_the_demo_passes_no_secret_in_argv(
    org: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devtools import demo

    monkeypatch.setattr(demo, "STATE", tmp_path / "demo" / "state")
    with ArgvWatch([org.access_token, org.aircall_api_token]) as watch:
        # Setting up the stack sets the secrets (`pulumi config set --secret`, the value on stdin).
        runner = demo.Runner(SimpleNamespace(info=_demo_info(org)))  # type: ignore[arg-type]
    assert watch.leaks == set()
    with ArgvWatch([org.access_token, org.aircall_api_token]) as watch:
        assert runner.run("up") == 0
    assert watch.engine_lines > 0  # the engine's command line was seen
    assert watch.leaks == set()


def test_fleet_passes_no_secret_in_argv(
    org: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tools/fleet.py through the Automation API over the real CLI (an inline program), one org stack."""
    from devtools.pulumi_cli import api
    from tools import fleet

    info = _demo_info(org)
    job = fleet.StackJob(
        stack="demo",
        verb="up",
        config={
            f"{NS}:instanceUrl": info["instance_url"],
            f"{NS}:caBundle": info["ca_cert"],
            f"{NS}:aircallApiUrl": info["aircall_url"],
            f"{NS}:aircallApiId": info["aircall_api_id"],
        },
        secrets={
            f"{NS}:accessToken": info["access_token"],
            f"{NS}:aircallApiToken": info["aircall_api_token"],
        },
    )
    state = tmp_path / "state"
    state.mkdir()
    env = api.cli_env(
        state, {"ECI_RETRY_BASE_SECONDS": "0.01", "ECI_CREATE_JOURNAL_DIR": str(tmp_path / "j")}
    )
    env["PATH"] = os.pathsep.join([str(Path(api.pulumi_binary()).parent), env["PATH"]])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runner = fleet.AutomationRunner(
        api.work_copy(REPO_ROOT, state), backend_url=state.as_uri(), resource_parallel=None
    )
    with ArgvWatch(job.secrets.values()) as watch:
        result = runner(job)
    assert result.ok, result.error
    assert dict(result.changes).get("create", 0) > 10 and result.outputs["oauthConsumerKey"] == "[secret]"
    assert watch.engine_lines > 0
    assert watch.leaks == set()
