"""Small check types for the agent's tests, used where the agent's behaviour (not a protocol) is under test.

They follow the contract of ``checks/base.py`` like every real check: the deadline on every I/O step, a
result and never an exception for a failure of the probed thing.
"""
from __future__ import annotations

import asyncio
from typing import Literal

from checks.base import CheckResult, CheckType, Deadline, DeadlineExceeded, Options, Status


class FixedOptions(Options):
    status: Literal["pass", "warn", "fail"] = "pass"
    output: str = ""
    observed_value: float | None = None
    observed_unit: str | None = None
    sleep_s: float = 0.0
    raise_error: str | None = None
    tls_not_after: float | None = None


async def run_fixed(target: str, options: FixedOptions, deadline: Deadline) -> CheckResult:
    """Return the configured status; counts its runs in ``RUNS[target]`` so tests can see the schedule."""
    RUNS[target] = RUNS.get(target, 0) + 1
    if options.sleep_s:
        await deadline.run("sleep", asyncio.sleep(options.sleep_s))
    if options.raise_error:
        raise RuntimeError(options.raise_error)
    return CheckResult(Status(options.status), options.output, options.observed_value, options.observed_unit,
                       duration_s=deadline.elapsed(), tls_not_after=options.tls_not_after)


RUNS: dict[str, int] = {}


class TcpReadOptions(Options):
    send: str = "PING\r\n"


async def run_tcp_read(target: str, options: TcpReadOptions, deadline: Deadline) -> CheckResult:
    """Connect to host:port, send a line and wait for any answer (a blackhole accepts but never answers)."""
    host, _, port = target.rpartition(":")
    writer = None
    try:
        reader, writer = await deadline.run("connect", asyncio.open_connection(host, int(port)))
        writer.write(options.send.encode())
        await deadline.run("write", writer.drain())
        data = await deadline.run("read", reader.read(100))
        return CheckResult(Status.PASS, data.decode(errors="replace").strip(), duration_s=deadline.elapsed())
    except DeadlineExceeded as exc:
        return CheckResult(Status.FAIL, str(exc), duration_s=deadline.elapsed())
    except OSError as exc:
        return CheckResult(Status.FAIL, f"connect failed: {exc.strerror or exc}", duration_s=deadline.elapsed())
    finally:
        if writer is not None:
            writer.close()


class PgOptions(Options):
    pass


async def run_pg(target: str, options: PgOptions, deadline: Deadline) -> CheckResult:
    """``SELECT 1`` in autocommit over psycopg's async connection."""
    import psycopg

    try:
        conn = await deadline.run("connect", psycopg.AsyncConnection.connect(target, autocommit=True,
                                                                           connect_timeout=2))
        async with conn:
            await deadline.run("query", conn.execute("SELECT 1"))
        return CheckResult(Status.PASS, "", deadline.elapsed() * 1000, "ms", duration_s=deadline.elapsed())
    except DeadlineExceeded as exc:
        return CheckResult(Status.FAIL, str(exc), duration_s=deadline.elapsed())
    except psycopg.Error as exc:
        return CheckResult(Status.FAIL, f"postgres: {str(exc).splitlines()[0]}", duration_s=deadline.elapsed())


class HangOptions(Options):
    pass


async def run_hang(target: str, options: HangOptions, deadline: Deadline) -> CheckResult:
    """A badly written check that ignores its deadline: only the agent's hard stop ends it."""
    await asyncio.sleep(3600)
    return CheckResult(Status.PASS)


TEST_REGISTRY: dict[str, CheckType] = {
    "fixed": CheckType("fixed", FixedOptions, run_fixed, "component"),
    "tcp_read": CheckType("tcp_read", TcpReadOptions, run_tcp_read, "system"),
    "pg_select": CheckType("pg_select", PgOptions, run_pg, "datastore"),
    "hang": CheckType("hang", HangOptions, run_hang, "component"),
}
