"""A tiny authoritative DNS server (dnspython, UDP on 127.0.0.1) for the dns check's tests and benchmark.

It answers from a fixed zone: NXDOMAIN for unknown names, NOERROR with no data for a known name's
other record types, and never answers ``SILENT`` (for timeouts). It runs in the caller's event loop::

    async with tiny_dns_server() as port:
        ...  # ask 127.0.0.1:port
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

ZONE = {
    ("app.island.test.", "A"): ["10.0.0.1", "10.0.0.2"],
    ("mail.island.test.", "MX"): ["10 mx.island.test."],
    ("txt.island.test.", "TXT"): ['"v=spf1 -all"'],
}
SILENT = "silent.island.test."  # the server never answers this name: timeouts


class TinyDnsServer(asyncio.DatagramProtocol):
    """Answers queries from ``ZONE``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name, rdtype = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
        if name == SILENT:
            return
        response = dns.message.make_response(query)
        answers = ZONE.get((name, rdtype))
        if answers:
            response.answer.append(dns.rrset.from_text_list(name, 60, "IN", rdtype, answers))
        elif not any(known == name for known, _ in ZONE):
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def tiny_dns_server() -> AsyncIterator[int]:
    """Serve ``ZONE`` on a free UDP port of 127.0.0.1 (yielded) in the running loop."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(TinyDnsServer, local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[1]
    finally:
        transport.close()
