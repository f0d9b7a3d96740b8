"""Certificates for tests: a throwaway CA (trustme) and server certificates, valid, expired or nearly so.

``make_pki(tmp_path)`` gives a ``TestPki`` whose ``ca_file`` clients trust and whose
``server_context(...)`` serves a leaf certificate for the given names and validity window::

    pki = make_pki(tmp_path)
    ctx = pki.server_context(not_after=datetime.now(timezone.utc) + timedelta(days=3))
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

DEFAULT_NAMES = ("localhost", "127.0.0.1")


@dataclass
class TestPki:
    """A CA written to ``ca_file`` and a factory of server certificates it signs."""

    __test__ = False  # not a pytest test class despite its name

    ca: trustme.CA
    ca_file: Path
    directory: Path

    def issue(
        self, *names: str, not_before: dt.datetime | None = None, not_after: dt.datetime | None = None
    ) -> trustme.LeafCert:
        """A leaf certificate for ``names`` (default localhost and 127.0.0.1) valid in the given window."""
        return self.ca.issue_cert(*(names or DEFAULT_NAMES), not_before=not_before, not_after=not_after)

    def server_context(
        self, *names: str, not_before: dt.datetime | None = None, not_after: dt.datetime | None = None
    ) -> ssl.SSLContext:
        """A server-side SSLContext presenting a fresh leaf certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.issue(*names, not_before=not_before, not_after=not_after).configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client-side SSLContext trusting this CA."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


def days_from_now(days: float) -> dt.datetime:
    """A UTC datetime ``days`` from now (negative: in the past)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def make_pki(directory: Path) -> TestPki:
    """A new CA whose certificate is written to ``directory/ca.pem``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TestPki(ca=ca, ca_file=ca_file, directory=directory)

