"""A running emulator process seen from a client: start/stop, its credentials, the `/__emulator/` controls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]


class EmulatorHandle:
    """A running emulator process and the credentials it printed."""

    def __init__(
        self,
        state_dir: Path,
        port: int = 0,
        latency_ms: int = 0,
        settings_file: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        # The server's environment (default: this process's); the bench passes one without its call hook.
        self._env = dict(os.environ if env is None else env)
        self._port = port
        self._latency_ms = latency_ms
        self._settings_file = settings_file
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self.startup_seconds = 0.0
        self._http: requests.Session | None = None
        self._mdapi: Any = None
        self.start()

    # ---- process ---------------------------------------------------------------------------------------
    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "devtools.sf_emulator",
            "serve",
            "--state-dir",
            str(self.state_dir),
            "--port",
            str(self._port),
            "--latency-ms",
            str(self._latency_ms),
        ]
        if self._settings_file:
            cmd += ["--settings", self._settings_file]
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # stderr goes to a file, not a pipe nobody drains (a full pipe would block the server).
        self.log_path = self.state_dir / "emulator.log"
        t0 = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**self._env, "PYTHONDONTWRITEBYTECODE": "1"},
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.startup_seconds = time.perf_counter() - t0
        if not line:
            self.proc.wait(5)
            raise RuntimeError(f"emulator did not start: {self.log_path.read_text()[-2000:]}")
        self.info = json.loads(line)
        self._mdapi = None
        # Restarts keep the port, so URLs held by the test (and records that embed them) stay valid.
        self._port = int(self.instance_url.rsplit(":", 1)[1])
        self._http = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._close_pipes()

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._close_pipes()

    def restart(self, hard: bool = True) -> None:
        self.kill() if hard else self.stop()
        self.start()

    def _close_pipes(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._http is not None:
            self._http.close()
            self._http = None

    # ---- what the serve line printed ---------------------------------------------------------------------
    @property
    def instance_url(self) -> str:
        return str(self.info["instance_url"])

    @property
    def access_token(self) -> str:
        return str(self.info["access_token"])

    @property
    def username(self) -> str:
        return str(self.info["username"])

    @property
    def password(self) -> str:
        return str(self.info["password"])

    @property
    def ca_cert(self) -> str:
        return str(self.info["ca_cert"])

    @property
    def aircall_url(self) -> str:
        return str(self.info["aircall_url"])

    @property
    def aircall_api_id(self) -> str:
        return str(self.info["aircall_api_id"])

    @property
    def aircall_api_token(self) -> str:
        return str(self.info["aircall_api_token"])

    # ---- clients -----------------------------------------------------------------------------------------
    def session(self) -> requests.Session:
        """A requests.Session that trusts the emulator's CA."""
        s = requests.Session()
        s.verify = self.ca_cert
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override Session.verify when trust_env is on
        # (psf/requests#3829), and those are set on many machines; loopback needs no proxy settings either.
        s.trust_env = False
        return s

    def sf(self, session_id: str | None = None, version: str = "63.0") -> Any:
        from simple_salesforce import Salesforce

        return Salesforce(
            instance_url=self.instance_url,
            session_id=session_id or self.access_token,
            session=self.session(),
            version=version,
        )

    def mdapi(self, session_id: str | None = None) -> Any:
        """`sf.mdapi` wired to trust the emulator's CA.

        simple-salesforce's SfdcMetadataApi builds its zeep Client with zeep's own requests.Session, not the
        one given to Salesforce(), so it would verify against the system CAs; its transport is replaced here.
        The WSDL parse is the slow part (~1 s), so one client is kept per handle; only its session header
        changes.
        """
        from zeep.transports import Transport

        if self._mdapi is None:
            self._mdapi = self.sf().mdapi
            self._mdapi._client.transport = Transport(session=self.session())
        sid = session_id or self.access_token
        self._mdapi._session_id = sid
        self._mdapi._session_header = self._mdapi._client.get_element("ns0:SessionHeader")(sessionId=sid)
        return self._mdapi

    def control(self, method: str, path: str, body: Any = None) -> Any:
        if self._http is None:
            self._http = self.session()
            self._http.headers["Authorization"] = f"Bearer {self.access_token}"
        r = self._http.request(
            method,
            f"{self.instance_url}/__emulator/{path}",
            json=body if body is not None else None,
            timeout=30,
        )
        if r.status_code >= 400:
            raise RuntimeError(f"control {method} {path} failed: {r.status_code} {r.text[:500]}")
        return r.json()

    def calls(self) -> dict[str, Any]:
        return dict(self.control("GET", "calls"))

    def reset_calls(self) -> None:
        self.control("POST", "calls/reset")

    def settings(self, **kw: Any) -> dict[str, Any]:
        return dict(self.control("POST", "settings", kw) if kw else self.control("GET", "settings"))

    def fault(self, **spec: Any) -> dict[str, Any]:
        return dict(self.control("POST", "faults", spec)["faults"][0])

    def clear_faults(self) -> None:
        self.control("POST", "faults/clear")

    def authorize_named_credential(self, name: str, username: str | None = None) -> None:
        self.control(
            "POST", f"named-credentials/{name}/authorize", {"username": username} if username else None
        )

    def revoke_named_credential(self, name: str) -> None:
        self.control("POST", f"named-credentials/{name}/revoke")

    def reset(self) -> None:
        self.control("POST", "reset")

    def add_aircall_users(self, users: list[dict[str, str]]) -> list[int]:
        """New users of the Aircall company (``{"email", "name"}`` each); their Aircall ids, in order."""
        return [int(i) for i in self.control("POST", "aircall/users", {"users": users})["ids"]]

    def receive_voice_calls(self, count: int) -> list[str]:
        """`count` calls received through the Aircall recording provider; their VoiceCall Ids."""
        return [str(i) for i in self.control("POST", "voice-calls", {"count": count})["ids"]]

    def refresh_token(self, username: str | None = None, client_id: str = "PlatformCLI") -> str:
        body: dict[str, Any] = {"client_id": client_id}
        if username:
            body["username"] = username
        return str(self.control("POST", "oauth/refresh-token", body)["refresh_token"])

    def sfdx_auth_url(self) -> str:
        """`force://PlatformCLI::<refresh token>@<instance>` for the admin (as `sf org display --verbose`)."""
        return f"force://PlatformCLI::{self.refresh_token()}@{self.instance_url.removeprefix('https://')}"
