"""TLS client settings shared by the checks that speak TLS, and reading the peer certificate's expiry."""
from __future__ import annotations

import ssl

from cryptography import x509
from pydantic import Field, FilePath

from checks.base import Options


class TlsClientOptions(Options):
    """How a check verifies the server's certificate."""

    ca_file: FilePath | None = Field(
        default=None, description="PEM file of CA certificates to trust instead of the system store")
    insecure: bool = Field(
        default=False, description="skip certificate and hostname verification (expiry is still reported)")


def client_context(options: TlsClientOptions) -> ssl.SSLContext:
    """An SSL context verifying against ``ca_file`` (or the system CAs), or verifying nothing if insecure."""
    context = ssl.create_default_context(cafile=str(options.ca_file) if options.ca_file else None)
    if options.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def peer_not_after(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """The peer (leaf) certificate's notAfter as Unix seconds, or None without a certificate.

    Read from the DER form, because ``getpeercert()`` returns an empty dict when verification is off, and
    an insecure check still has to report how long the certificate has left. Python 3.11 does not expose
    the rest of the chain, so this is the leaf's expiry (usually the earliest one).
    """
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
