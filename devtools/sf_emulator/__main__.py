"""`python -m devtools.sf_emulator serve --state-dir DIR [--port 0] [--latency-ms N] [--settings FILE]`."""

from __future__ import annotations

import argparse

from .server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.sf_emulator", description="Salesforce org emulator"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve an org over HTTPS on 127.0.0.1; prints one JSON line")
    s.add_argument("--state-dir", required=True, help="SQLite state, CA and server certificate live here")
    s.add_argument("--port", type=int, default=0, help="0 picks a free port")
    s.add_argument("--latency-ms", type=int, default=0, help="added to every API request")
    s.add_argument("--settings", help="JSON file of org settings applied at start")
    args = parser.parse_args(argv)
    serve(args.state_dir, port=args.port, latency_ms=args.latency_ms, settings_file=args.settings)


if __name__ == "__main__":
    main()
