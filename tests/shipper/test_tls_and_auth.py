"""TLS with a CA file and basic auth, through the proxy serving HTTPS with a throwaway CA (trustme)."""
from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from elastic_transport import TlsError

from agent.shipper import Shipper
from tests.shipper.support import client, count, ecs_line, shipper_config, write_lines
from tests.support.es_fault_proxy import EsFaultProxy
from tests.support.services import free_port


async def test_ships_over_tls_verified_with_the_ca_file_and_basic_auth(tmp_path: Path, osmem) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    proxy = EsFaultProxy(osmem.url, free_port(), tls_context=server_context)
    proxy.up()
    try:
        with pytest.raises(TlsError):  # without the CA the certificate is refused
            client(proxy.url).info()
        write_lines(tmp_path / "app.log", [ecs_line(i) for i in range(200)])
        config = shipper_config(tmp_path, proxy.url, [str(tmp_path / "*.log")], elasticsearch={
            "ca_file": str(ca_file), "username": "shipper", "password": "s3cret"})
        shipper = Shipper(config)
        await shipper.run_until_caught_up()
    finally:
        proxy.down()
    assert shipper.stats.acknowledged == 200
    assert count(client(osmem.url)) == 200
    assert proxy.last_headers["authorization"] == "Basic c2hpcHBlcjpzM2NyZXQ="
