"""`make pulumi`: find a suitable `pulumi` CLI, or build the real one from Pulumi's Go modules.

    python3 devtools/pulumi_cli/build.py [--check]

The last line of output is the absolute path of the `pulumi` binary, so scripts can take it with `tail -n1`.
Standard library only: it runs before the project's venv exists.

Order:
1. `$ECI_PULUMI` if set (a path to a `pulumi` binary);
2. `pulumi` on PATH, if its version is at least the project's `requiredPulumiVersion` and the dynamic-provider
   plugin `pulumi-resource-pulumi-python` sits beside it or on PATH (official releases ship both);
3. the build cache outside the clone, `$XDG_CACHE_HOME/eci-aircall/pulumi-cli/<version>-<go.sum hash>/`, so a
   second clone on this machine reuses it;
4. otherwise `go build` of `github.com/pulumi/pulumi/pkg/v3/cmd/pulumi` from the module proxy, pinned by this
   folder's go.mod / go.sum, with the official release's flags (pulumi/pulumi `.goreleaser.yml`), and our own
   plugin script beside it.

With --check nothing is built: exit 1 if no suitable CLI is found.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# The module version this folder's go.mod pins; every build is stamped with it.
VERSION = "v3.276.0"
VERSION_PACKAGE = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
MAIN_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
PLUGIN = "pulumi-resource-pulumi-python"
# The one sanctioned newer Go; `local` otherwise, so that a go.mod asking for more fails loudly instead of
# downloading a toolchain.
GOTOOLCHAIN = "go1.27.3" if os.environ.get("GOTOOLCHAIN") == "go1.27.3" else "local"


def say(message: str) -> None:
    print(f"pulumi-cli: {message}", file=sys.stderr, flush=True)


def required_version() -> tuple[int, ...]:
    """The lower bound of Pulumi.yaml's `requiredPulumiVersion` (">=X.Y.Z")."""
    text = (REPO / "Pulumi.yaml").read_text()
    match = re.search(r'^requiredPulumiVersion:\s*"?>=\s*v?([0-9.]+)', text, re.M)
    if not match:
        raise SystemExit('pulumi-cli: Pulumi.yaml has no requiredPulumiVersion ">=X.Y.Z"')
    return parse_version(match.group(1))


def parse_version(text: str) -> tuple[int, ...]:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    return tuple(int(p) for p in match.groups()) if match else ()


def cli_version(pulumi: Path) -> tuple[int, ...]:
    try:
        out = subprocess.run(
            [str(pulumi), "version"], capture_output=True, text=True, timeout=60,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}, check=False,
        ).stdout  # fmt: skip
    except OSError:
        return ()
    return parse_version(out)


def has_plugin(pulumi: Path) -> bool:
    """The CLI finds the dynamic-provider plugin beside its own (resolved) binary or on PATH
    (pkg/workspace/plugins.go, getPluginInfoAndPath)."""
    beside = pulumi.resolve().parent / PLUGIN
    return (beside.is_file() and os.access(beside, os.X_OK)) or shutil.which(PLUGIN) is not None


def suitable(pulumi: Path, minimum: tuple[int, ...]) -> bool:
    version = cli_version(pulumi)
    return bool(version) and version >= minimum and has_plugin(pulumi)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256((HERE / "go.sum").read_bytes() + (HERE / "go.mod").read_bytes()).hexdigest()[:12]
    return base / "eci-aircall" / "pulumi-cli" / f"{VERSION}-{digest}"


def find(minimum: tuple[int, ...]) -> Path | None:
    explicit = os.environ.get("ECI_PULUMI")
    if explicit:
        path = Path(explicit)
        if not suitable(path, minimum):
            raise SystemExit(
                f"pulumi-cli: ECI_PULUMI={explicit} is not a pulumi >= {dotted(minimum)} with {PLUGIN}"
            )
        return path.resolve()
    on_path = shutil.which("pulumi")
    if on_path and suitable(Path(on_path), minimum):
        return Path(on_path).resolve()
    cached = cache_dir() / "pulumi"
    if cached.is_file() and suitable(cached, minimum):
        return cached
    return None


def dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def build(minimum: tuple[int, ...]) -> Path:
    go = shutil.which("go")
    if go is None:
        raise SystemExit(
            f"pulumi-cli: no pulumi >= {dotted(minimum)} on PATH, and no Go to build one. Install the Pulumi "
            "CLI (https://www.pulumi.com/docs/install/) or Go (https://go.dev/doc/install), then make pulumi."
        )
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOTOOLCHAIN": GOTOOLCHAIN,
        "CGO_ENABLED": "0",
        # go.mod/go.sum are the lock: a missing or different hash fails the build instead of updating them.
        "GOFLAGS": "-mod=readonly",
    }
    flags = [
        "-trimpath",
        "-tags",
        "osusergo,grpcnotrace",
        "-ldflags",
        f"-s -w -X {VERSION_PACKAGE}={VERSION}",
    ]
    say(f"building pulumi {VERSION} from the Go module proxy into {out}")
    say("waiting for `go build`: a first build took about 6 min on 2 cores here (1.7 GB of build cache),")
    say("plus the module downloads (about 340 modules); a rebuild is mostly linking")
    started = time.monotonic()
    tmp = out / "pulumi.partial"
    proc = subprocess.run([go, "build", *flags, "-o", str(tmp), MAIN_PACKAGE], cwd=HERE, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"pulumi-cli: go build failed (exit {proc.returncode}); see the lines above")
    tmp.replace(out / "pulumi")
    plugin = out / PLUGIN
    shutil.copyfile(HERE / PLUGIN, plugin)
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    say(f"built in {time.monotonic() - started:.0f}s")
    version = cli_version(out / "pulumi")
    # Without the stamp `pulumi version` is empty, requiredPulumiVersion goes unchecked and the Automation API
    # refuses the CLI (sdk/go/common/version, pkg/workspace ValidatePulumiVersionRange).
    if version != parse_version(VERSION):
        raise SystemExit(f"pulumi-cli: the built CLI reports version {version or 'nothing'}, not {VERSION}")
    return out / "pulumi"


def apitype_schemas() -> Path:
    """Pulumi's deployment JSON schemas (`sdk/go/common/apitype/*.json`, what `pulumi stack import` validates
    against) from the sdk/v3 module this folder pins, downloaded from the module proxy if not cached."""
    go = shutil.which("go")
    if go is None:
        raise SystemExit("pulumi-cli: Go is needed to read Pulumi's apitype schemas from its module")
    env = {**os.environ, "GOTOOLCHAIN": GOTOOLCHAIN, "GOFLAGS": "-mod=readonly"}
    out = subprocess.run(
        [go, "mod", "download", "-json", "github.com/pulumi/pulumi/sdk/v3"], cwd=HERE, env=env,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return Path(json.loads(out)["Dir"]) / "go" / "common" / "apitype"


def main(argv: list[str]) -> int:
    minimum = required_version()
    found = find(minimum)
    if found is None:
        if "--check" in argv:
            say(f"no pulumi >= {dotted(minimum)} with {PLUGIN} found; `make pulumi` builds one")
            return 1
        found = build(minimum)
    else:
        # The plugin script is ours: keep the cached copy in step with this checkout.
        if found.parent == cache_dir():
            shutil.copyfile(HERE / PLUGIN, found.parent / PLUGIN)
    say(f"using {found} (pulumi {dotted(cli_version(found))})")
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
