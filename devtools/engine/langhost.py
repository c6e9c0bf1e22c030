"""Runs a Pulumi Python program against our resource monitor: the role of `pulumi-language-python-exec`.

Mirrors pulumi/pulumi `sdk/python/cmd/pulumi-language-python-exec`: config from PULUMI_CONFIG /
PULUMI_CONFIG_SECRET_KEYS, `pulumi.runtime.configure(Settings(...))`, then
`run_in_stack(lambda: runpy.run_path(program, run_name="__main__"))`. Run as a script (not `-m`) so the
program directory, not this one, heads sys.path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor


def main() -> int:
    # Running this file put devtools/engine/ first on sys.path; the program must not see our modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]

    import pulumi
    import pulumi.runtime

    ap = argparse.ArgumentParser(description="Execute a Pulumi Python program")
    ap.add_argument("--project")
    ap.add_argument("--stack")
    ap.add_argument("--organization", default="organization")
    ap.add_argument("--root_directory")
    ap.add_argument("--parallel", default="2147483647")
    ap.add_argument("--dry_run")
    ap.add_argument("--pwd")
    ap.add_argument("--monitor")
    ap.add_argument("--engine")
    ap.add_argument(
        "--settings-from-stdin",
        action="store_true",
        help="started early by the engine: read the monitor/engine addresses and PULUMI_CONFIG* from stdin",
    )
    ap.add_argument("PROGRAM")
    args = ap.parse_args()
    if args.settings_from_stdin:
        line = sys.stdin.readline()
        if not line:
            return 1  # the engine gave up before the program could start
        settings = json.loads(line)
        args.monitor = settings["monitor"]
        args.engine = settings["engine"]
        os.environ.update(settings["env"])

    pulumi.runtime.set_all_config(
        pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env()
    )
    pulumi.runtime.configure(
        pulumi.runtime.Settings(
            monitor=args.monitor,
            engine=args.engine,
            project=args.project,
            stack=args.stack,
            parallel=int(args.parallel),
            dry_run=args.dry_run == "true",
            organization=args.organization,
            root_directory=args.root_directory,
        )
    )
    sys.argv = [args.PROGRAM]
    if args.pwd:
        os.chdir(args.pwd)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The SDK makes its blocking monitor calls on the loop's default executor; like the real language host
    # (pulumi/pulumi#20362, mirrored in pulumi/automation/_server.py) size it from --parallel, not the CPUs.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(int(args.parallel), 1) * 4))
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    ok = False
    try:

        def program() -> None:
            runpy.run_path(args.PROGRAM, run_name="__main__")

        coro = pulumi.runtime.run_in_stack(program)
        loop.run_until_complete(coro)
        ok = True
    except pulumi.RunError as exc:
        pulumi.log.error(str(exc))
    except Exception:
        pulumi.log.error(f"Program failed with an unhandled exception:\n{traceback.format_exc()}")
    finally:
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return 0 if ok else 32  # 32: the language host's "error already reported" code


if __name__ == "__main__":
    sys.exit(main())
