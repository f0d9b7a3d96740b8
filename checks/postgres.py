"""PostgreSQL: connect, ``SELECT 1`` in autocommit, then the numbers that predict an outage.

Observed value: the latency of connect + ``SELECT 1`` in seconds. Measurements: client connections used
vs the ones non-superusers may open (``connections_max`` = ``max_connections`` minus the reserved ones;
warn at a ratio: the next deploy's pool will not fit), replication lag in seconds on a replica
(``pg_is_in_recovery()``), and the age of the longest running transaction in the cluster (it holds back
vacuum and usually means a stuck request). Each query is a separate step under the deadline.
"""

from __future__ import annotations

import time

import psycopg
from pydantic import Field

from checks import base
from checks.base import CheckResult, Deadline, Status
from checks.guard import TargetError, guarded

# Everything in one round trip (two with SELECT 1): client connections against what non-superusers may
# open (max_connections - superuser_reserved_connections); the oldest open transaction of any other
# session; and on a replica its lag: 0 while it has replayed everything it received (an idle primary
# writes nothing, so "now() - last replay" alone would grow forever), else the age of the last replayed
# transaction.
_MEASURE = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
       (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)::float8
          FROM pg_stat_activity
         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'),
       pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8
"""


class PostgresOptions(base.Options):
    """Options of the ``postgres`` check; the target is a libpq URL or ``key=value`` connection string."""

    connections_warn_ratio: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="warn when client connections / (max_connections - superuser_reserved) reach this",
    )
    replication_lag_warn_s: float = Field(
        default=30.0, ge=0, description="warn when a replica lags more (seconds)"
    )
    longest_transaction_warn_s: float = Field(
        default=300.0, ge=0, description="warn when a transaction has been open longer (seconds)"
    )
    latency_warn_s: float | None = Field(
        default=None, gt=0, description="warn when connect + SELECT 1 is slower"
    )


Options = PostgresOptions  # the name every check module exposes


@guarded(psycopg.Error)
async def run(target: str, options: PostgresOptions, deadline: Deadline) -> CheckResult:
    """Connect to ``target`` and run the health queries, each bounded by ``deadline``."""
    if not target.strip():
        # libpq would fall back to PGHOST/the local socket: a silent surprise for a configured check
        raise TargetError("target is empty: expected a postgresql:// URL or key=value connection string")
    started = time.monotonic()
    # connect_timeout is whole seconds (libpq, minimum 2), set behind the deadline, which is the real bound
    # and names the step.
    connect = psycopg.AsyncConnection.connect(
        target,
        autocommit=True,
        connect_timeout=int(deadline.remaining()) + 2,
        application_name="island-health-check",
    )
    conn = await deadline.run("connect", connect)
    try:
        await deadline.run("SELECT 1", conn.execute("SELECT 1"))
        latency = time.monotonic() - started
        measurements = {"latency_s": latency}
        measurements.update(await _measure(conn, deadline))
    finally:
        await conn.close()  # closes the socket without a round trip: nothing to bound
    warnings = _warnings(measurements, options)
    return CheckResult(
        Status.WARN if warnings else Status.PASS,
        "; ".join(warnings) or _summary(measurements),
        observed_value=latency,
        observed_unit="s",
        measurements=measurements,
    )


async def _measure(conn: psycopg.AsyncConnection, deadline: Deadline) -> dict[str, float]:
    async def query_row() -> tuple:
        cursor = await conn.execute(_MEASURE)
        row = await cursor.fetchone()
        assert row is not None  # a SELECT without FROM returns exactly one row
        return row

    used, available, longest, in_recovery, lag = await deadline.run("measurements query", query_row())
    found = {
        "connections_used": float(used),
        "connections_max": float(available),
        "connections_ratio": used / available if available > 0 else 1.0,
        "longest_transaction_s": float(longest),
        "in_recovery": 1.0 if in_recovery else 0.0,
    }
    if lag is not None:
        found["replication_lag_s"] = float(lag)
    return found


def _warnings(m: dict[str, float], options: PostgresOptions) -> list[str]:
    warnings = []
    if m["connections_ratio"] >= options.connections_warn_ratio:
        warnings.append(
            f"connections {m['connections_used']:.0f}/{m['connections_max']:.0f} "
            f"({m['connections_ratio']:.0%}) at or above {options.connections_warn_ratio:.0%}"
        )
    if m["longest_transaction_s"] > options.longest_transaction_warn_s:
        warnings.append(
            f"a transaction has been open {m['longest_transaction_s']:.1f}s "
            f"(> {options.longest_transaction_warn_s:g}s)"
        )
    if m.get("replication_lag_s", 0.0) > options.replication_lag_warn_s:
        warnings.append(
            f"replication lag {m['replication_lag_s']:.1f}s (> {options.replication_lag_warn_s:g}s)"
        )
    if options.latency_warn_s is not None and m["latency_s"] > options.latency_warn_s:
        warnings.append(f"slow: SELECT 1 took {m['latency_s']:.3f}s (> {options.latency_warn_s:g}s)")
    return warnings


def _summary(m: dict[str, float]) -> str:
    role = "replica" if m["in_recovery"] else "primary"
    lag = f", lag {m['replication_lag_s']:.1f}s" if "replication_lag_s" in m else ""
    return (
        f"SELECT 1 in {m['latency_s'] * 1000:.1f} ms; {role}{lag}; connections "
        f"{m['connections_used']:.0f}/{m['connections_max']:.0f}; longest transaction "
        f"{m['longest_transaction_s']:.1f}s"
    )
