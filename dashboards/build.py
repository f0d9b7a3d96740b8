"""Generate the dashboards' JSON: ``python -m dashboards.build [--check]``.

Writes one ``dashboards/generated/<uid>.json`` per dashboard (sorted keys, two-space indent, so a diff
shows what changed). ``--check`` writes nothing and exits 1 when a committed file differs from a fresh
build (the test suite runs the same comparison).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import api_overview, health_agent, log_shipper

GENERATED = Path(__file__).resolve().parent / "generated"
BUILDERS: dict[str, Callable[[], Dashboard]] = {
    api_overview.UID: api_overview.build,
    health_agent.UID: health_agent.build,
    log_shipper.UID: log_shipper.build,
}


def render(model: Dashboard) -> str:
    """The dashboard as the JSON Grafana imports (stable formatting)."""
    return json.dumps(json.loads(JSONEncoder().encode(model)), sort_keys=True, indent=2) + "\n"


def rendered() -> dict[str, str]:
    """File name -> fresh JSON text, for every dashboard."""
    return {f"{uid}.json": render(build()) for uid, build in BUILDERS.items()}


def stale_files(directory: Path = GENERATED) -> list[str]:
    """Names of generated files that are missing, differ from a fresh build, or belong to no dashboard."""
    fresh = rendered()
    stale = [name for name, text in fresh.items()
             if not (directory / name).exists() or (directory / name).read_text() != text]
    stale += [p.name for p in directory.glob("*.json") if p.name not in fresh]
    return sorted(stale)


def write(directory: Path = GENERATED) -> list[Path]:
    """Write every dashboard into ``directory`` (removing JSON of dashboards that no longer exist)."""
    directory.mkdir(parents=True, exist_ok=True)
    fresh = rendered()
    for old in directory.glob("*.json"):
        if old.name not in fresh:
            old.unlink()
    paths = []
    for name, text in fresh.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed JSON is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"dashboards/generated/{name} is out of date: run python -m dashboards.build", file=sys.stderr)
        return 1 if stale else 0
    for path in write():
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
