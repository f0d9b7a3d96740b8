"""TLS client settings shared by the checks that speak TLS, and reading the peer certificate's expiry."""

from __future__ import annotations

import functools
import os
import ssl

from pydantic import Field, FilePath

from checks.base import Options


class TlsClientOptions(Options):
    """How a check verifies the server's certificate."""

    ca_file: FilePath | None = Field(
        default=None, description="PEM file of CA certificates to trust instead of the system store"
    )
    insecure: bool = Field(
        default=False, description="skip certificate and hostname verification (expiry is still reported)"
    )


def client_context(options: TlsClientOptions, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    """An SSL context verifying against ``ca_file`` (or the system CAs), or verifying nothing if insecure.

    Contexts are cached: loading the system CA store takes tens of milliseconds, far more than a probe
    of a local service. The CA file's modification time is part of the key, so a rotated file is reloaded.
    ``alpn`` is part of the key too: httpcore sets "http/1.1" on the context it gets, and that must not
    leak into the handshakes of the tls, tcp or smtp checks sharing a CA file.
    """
    ca_file = str(options.ca_file) if options.ca_file else None
    mtime = os.stat(ca_file).st_mtime_ns if ca_file else 0
    return _context(ca_file, mtime, options.insecure, alpn)


@functools.lru_cache(maxsize=64)
def _context(ca_file: str | None, mtime: int, insecure: bool, alpn: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def peer_not_after(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """The peer (leaf) certificate's notAfter as Unix seconds, or None without a certificate.

    A verified connection has it in ``getpeercert()``. With verification off that dict is empty, and an
    insecure check still has to report how long the certificate has left, so then the DER form is parsed
    with ``cryptography``, imported only on that path: it costs ~12 MB of RSS (measured), and the agent
    has 80 MB in all. Python 3.11 does not expose the rest of the chain, so this is the leaf's expiry
    (usually the earliest one).
    """
    if ssl_object is None:
        return None
    decoded = ssl_object.getpeercert()
    if decoded and "notAfter" in decoded:
        return float(ssl.cert_time_to_seconds(str(decoded["notAfter"])))
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
