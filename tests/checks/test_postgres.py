"""The postgres check against the shared server (own database) and a throwaway cluster and replica."""

from __future__ import annotations

import asyncio

import psycopg

from checks import postgres
from checks.base import Deadline, Status
from tests.support.pg_replica import replica_of
from tests.support.services import free_port, postgres_cluster


async def test_pass_reports_latency_and_connections(postgres_dsn: str) -> None:
    result = await postgres.run(
        postgres_dsn,
        postgres.Options(longest_transaction_warn_s=86400, connections_warn_ratio=1.0),
        Deadline(5),
    )
    assert result.status is Status.PASS, result.output
    assert result.observed_unit == "s" and 0 < result.observed_value < 5
    assert result.measurements["connections_used"] >= 1
    async with await psycopg.AsyncConnection.connect(postgres_dsn) as conn:
        cursor = await conn.execute(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
        )
        (available,) = await cursor.fetchone()  # type: ignore[misc]
    assert result.measurements["connections_max"] == available
    assert result.measurements["connections_ratio"] == result.measurements["connections_used"] / available
    assert result.measurements["in_recovery"] == 0
    assert "replication_lag_s" not in result.measurements
    assert "primary" in result.output and result.duration_s > 0


async def test_connections_ratio_warns(postgres_dsn: str) -> None:
    options = postgres.Options(connections_warn_ratio=0.0001, longest_transaction_warn_s=86400)
    result = await postgres.run(postgres_dsn, options, Deadline(5))
    assert result.status is Status.WARN
    assert "connections" in result.output and "at or above" in result.output


async def test_long_transaction_warns(postgres_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_dsn) as holder:  # not autocommit: BEGIN
        await holder.execute("SELECT 1")
        await asyncio.sleep(0.3)
        options = postgres.Options(longest_transaction_warn_s=0.2, connections_warn_ratio=1.0)
        result = await postgres.run(postgres_dsn, options, Deadline(5))
        await holder.rollback()
    assert result.status is Status.WARN, result.output
    assert result.measurements["longest_transaction_s"] >= 0.3
    assert "transaction has been open" in result.output


async def test_refused_fails_with_reason_and_no_password() -> None:
    target = f"postgresql://postgres:Hunter2Secret@127.0.0.1:{free_port()}/postgres"
    result = await postgres.run(target, postgres.Options(), Deadline(2))
    assert result.status is Status.FAIL
    assert result.output.startswith("connect:") and "refused" in result.output.lower()
    assert "Hunter2Secret" not in result.output


async def test_unknown_database_fails(postgres_dsn: str) -> None:
    target = postgres_dsn.rsplit("/", 1)[0] + "/island_no_such_db password=x"
    result = await postgres.run(
        postgres_dsn.rsplit("/", 1)[0] + "/island_no_such_db", postgres.Options(), Deadline(2)
    )
    assert result.status is Status.FAIL and "does not exist" in result.output
    result = await postgres.run(target, postgres.Options(), Deadline(2))
    assert result.status is Status.FAIL  # not a valid URL any more: a clear failure, never an exception


async def test_stopped_server_fails_then_recovers() -> None:
    with postgres_cluster() as cluster:
        assert (await postgres.run(cluster.dsn, postgres.Options(), Deadline(3))).status is Status.PASS
        cluster.stop()
        down = await postgres.run(cluster.dsn, postgres.Options(), Deadline(3))
        assert down.status is Status.FAIL and "refused" in down.output.lower()
        cluster.start()
        assert (await postgres.run(cluster.dsn, postgres.Options(), Deadline(3))).status is Status.PASS


async def test_replica_reports_lag_and_warns_when_behind() -> None:
    with postgres_cluster() as primary, replica_of(primary) as replica:
        result = await postgres.run(replica.dsn, postgres.Options(), Deadline(5))
        assert result.status is Status.PASS, result.output
        assert result.measurements["in_recovery"] == 1 and "replica" in result.output
        assert result.measurements["replication_lag_s"] >= 0
        # A replayed commit sets pg_last_xact_replay_timestamp(); then pause replay and commit again:
        # the replica receives WAL it does not apply, and its lag grows from that first commit.
        await _execute(primary.dsn, "CREATE TABLE replayed (id int)")
        await _wait_for(replica.dsn, "SELECT pg_last_xact_replay_timestamp() IS NOT NULL")
        await asyncio.sleep(1.0)
        await _execute(replica.dsn, "SELECT pg_wal_replay_pause()")
        await _execute(primary.dsn, "CREATE TABLE not_replayed (id int)")
        await _wait_for(replica.dsn, "SELECT pg_last_wal_receive_lsn() <> pg_last_wal_replay_lsn()")
        behind = await postgres.run(replica.dsn, postgres.Options(replication_lag_warn_s=0.5), Deadline(5))
        assert behind.status is Status.WARN, behind.output
        assert behind.measurements["replication_lag_s"] > 0.5 and "replication lag" in behind.output


async def _execute(dsn: str, sql: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(sql)


async def _wait_for(dsn: str, condition: str, timeout: float = 10.0) -> None:
    """Poll ``condition`` (a boolean query) until it is true."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        async with asyncio.timeout(timeout):
            while not (await (await conn.execute(condition)).fetchone())[0]:  # type: ignore[index]
                await asyncio.sleep(0.05)
