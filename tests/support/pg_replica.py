"""A streaming replica of a throwaway cluster (``postgres_cluster()``), for replication-lag tests.

``pg_basebackup -R`` copies the primary and writes ``standby.signal`` plus ``primary_conninfo``; the copy
then starts as a hot standby on a port of its own. initdb's trust ``pg_hba.conf`` already allows
replication connections from 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.services import PG_BIN, PostgresCluster, free_port


@contextlib.contextmanager
def replica_of(primary: PostgresCluster) -> Iterator[PostgresCluster]:
    """Start a hot standby streaming from ``primary``; stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="island-pg-replica-"))
    datadir, sockdir = root / "data", root / "sock"
    sockdir.mkdir()
    shutil.chown(root, "postgres")
    shutil.chown(sockdir, "postgres")
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(datadir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    replica = PostgresCluster(port=free_port(), datadir=datadir, sockdir=sockdir)
    replica.start()
    try:
        yield replica
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            replica.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
