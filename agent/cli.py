"""``island-agent run|check|validate|ship`` -- the agent's command line.

Exit codes: ``check`` 0 pass, 1 warn, 2 fail (the worst run); ``validate`` 0 valid, 1 invalid;
``run``/``check`` 3 when the configuration is invalid (every problem printed as "file: key: reason").
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.config import ConfigError, LoadedConfig, load_config
from agent.runner import run_check
from checks.base import CheckResult

DEFAULT_CONFIG = os.environ.get("AGENT_CONFIG", str(Path(__file__).with_name("default.yaml")))
EXIT_CONFIG = 3


def _load(path: str) -> LoadedConfig | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return 1
    names = ", ".join(loaded.checks)
    print(f"{loaded.path}: OK, {len(loaded.checks)} checks ({names})"
          + ("; shipper configured" if loaded.shipper is not None else ""))
    return 0


def format_table(rows: list[tuple[str, str, CheckResult]]) -> str:
    """A fixed-width table of check results: name, type, status, duration, output."""
    header = ("CHECK", "TYPE", "STATUS", "DURATION", "OUTPUT")
    cells = [header] + [(name, type_, r.status.value, f"{r.duration_s * 1000:.1f} ms", r.output.replace("\n", " "))
                        for name, type_, r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in cells)


async def _run_once(loaded: LoadedConfig, names: list[str]) -> list[tuple[str, str, CheckResult]]:
    specs = [loaded.checks[name] for name in names]
    results = await asyncio.gather(*(run_check(spec) for spec in specs))
    return [(spec.name, spec.config.type, result) for spec, result in zip(specs, results)]


def cmd_check(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return EXIT_CONFIG
    unknown = [name for name in args.names if name not in loaded.checks]
    if unknown:
        print(f"{loaded.path}: no check named {', '.join(unknown)} (known: {', '.join(loaded.checks)})",
              file=sys.stderr)
        return EXIT_CONFIG
    rows = asyncio.run(_run_once(loaded, args.names or list(loaded.checks)))
    print(format_table(rows))
    worst = max((r.status.severity for _, _, r in rows), default=0)
    return worst  # pass 0, warn 1, fail 2: Status.severity is exactly that mapping


def cmd_run(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return EXIT_CONFIG
    from agent.serve import serve  # uvicorn and the scheduler are only needed here

    asyncio.run(serve(loaded, host=args.host, port=args.port))
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return EXIT_CONFIG
    from agent.shipping import ship_once

    return asyncio.run(ship_once(loaded, until_caught_up=args.until_caught_up))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="island-agent", description="Island Rides health and log-shipping sidecar")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--config", "-c", default=DEFAULT_CONFIG, help=f"agent YAML (default {DEFAULT_CONFIG})")
        return p

    run = add("run", "run the checks on their schedule and serve /health, /readyz, /metrics, /status")
    run.add_argument("--host", default=None, help="override server.host (AGENT_HOST)")
    run.add_argument("--port", type=int, default=None, help="override server.port (AGENT_PORT)")
    run.set_defaults(func=cmd_run)
    check = add("check", "run the checks once, print a table; exit 0 pass, 1 warn, 2 fail")
    check.add_argument("names", nargs="*", help="only these checks (default: all)")
    check.set_defaults(func=cmd_check)
    add("validate", "validate the configuration file; exit 0 valid, 1 invalid").set_defaults(func=cmd_validate)
    ship = add("ship", "ship log files to Elasticsearch (the shipper: section)")
    ship.add_argument("--until-caught-up", action="store_true", help="exit once every file is shipped to its end")
    ship.set_defaults(func=cmd_ship)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``island-agent`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
