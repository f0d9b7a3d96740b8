"""``island-api``: serve the API, apply migrations, load seed data.

Settings are validated before anything starts; a bad variable prints one line naming it and exits 2.
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from api.settings import ConfigError, Settings, load_settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from api.telemetry import prepare_workers

    prepare_workers(args.workers)  # before the workers start: metrics multiprocess mode for --workers N

    uvicorn.run("api.app:app_factory", factory=True, host=args.host or settings.api_host,
                port=args.port or settings.api_port, workers=args.workers, proxy_headers=True,
                access_log=False,  # the telemetry middleware writes the access log (ECS JSON)
                ws_max_size=64 * 1024,  # chat/ping frames are far smaller (api.chat.frames); default is 16 MiB
                lifespan="on",
                # a bound on how long in-flight requests and WebSockets may delay exit after SIGTERM
                timeout_graceful_shutdown=settings.shutdown_grace_s)
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from api.migrate import apply_migrations

    applied = apply_migrations(settings.database_url)
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from api.seed import seed

    summary = asyncio.run(seed(settings))
    print("seeded: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="island-api", description="Island Rides rental API")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", help="bind address (default API_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default API_PORT, 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(handler=_serve)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(handler=_migrate)
    sub.add_parser("seed", help="load demo data (idempotent)").set_defaults(handler=_seed)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"island-api: {exc}", file=sys.stderr)
        return 2
    try:
        return args.handler(settings, args)
    except ConfigError as exc:  # a setting read after start-up (ISLAND_TELEMETRY by serve): the same one line
        print(f"island-api: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an operator-facing one-liner, not a traceback
        if args.command == "serve":
            raise
        print(f"island-api {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
