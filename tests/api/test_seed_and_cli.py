"""`island-api seed` (idempotent, realistic volume) and `island-api migrate` on a fresh database."""
from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from tests.api.support import REPO_ROOT
from tests.support.services import temp_database


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], check=False, capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, env={**os.environ, **env})


def test_migrate_then_seed_twice_is_idempotent():
    with temp_database(prefix="island_api_seed") as dsn:
        env = {"DATABASE_URL": dsn, "ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1"}
        migrate = _cli("migrate", env=env)
        assert migrate.returncode == 0 and "0001_schema" in migrate.stdout, migrate.stderr
        first = _cli("seed", env=env)
        assert first.returncode == 0, first.stderr
        second = _cli("seed", env=env)
        assert second.returncode == 0 and second.stdout == first.stdout
        with psycopg.connect(dsn) as conn:
            islands, hosts, vehicles = conn.execute(
                "SELECT count(DISTINCT island_id), count(DISTINCT host_id), count(*) FROM vehicles").fetchone()
            assert (islands, vehicles) == (3, 36) and hosts >= 5
            statuses = dict(conn.execute("SELECT status, count(*) FROM bookings GROUP BY status").fetchall())
            assert statuses["completed"] > 0 and statuses["confirmed"] > 0
            assert conn.execute("SELECT count(*) FROM bookings WHERE start_date > current_date").fetchone()[0] > 0
            rated = conn.execute("SELECT count(*) FROM vehicle_ratings").fetchone()[0]
            assert rated > 0
            # price snapshots follow the pricing rule: subtotal + 12 % service fee = total
            bad = conn.execute("SELECT count(*) FROM bookings WHERE total_cents <> subtotal_cents + service_fee_cents"
                               " OR service_fee_cents <> round(subtotal_cents * 0.12)").fetchone()[0]
            assert bad == 0
            assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] > 0
            renters = conn.execute("SELECT count(*) FROM users WHERE role = 'renter'").fetchone()[0]
            assert renters >= 10
            # the demo logins `make run` prints must be accepted by the login endpoint's validation
            from api.routes.auth import LoginIn
            from api.seed import DEMO_PASSWORD
            for (email,) in conn.execute("SELECT email FROM users").fetchall():
                LoginIn(email=email, password=DEMO_PASSWORD)
