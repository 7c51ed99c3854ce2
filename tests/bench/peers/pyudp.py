#!/usr/bin/env python3
"""pyudp.py - the classic Python datagram servers the bench compares against.

Usage: pyudp.py udp|threading|forking|asyncio echo|discard PORT   (PORT 0: a free port)
Prints "listening on udp:127.0.0.1:PORT (python-KIND)" on stderr once bound.

udp, threading and forking are socketserver's UDPServer, ThreadingUDPServer
and ForkingUDPServer with the textbook handler (sendto the datagram back to
client_address, or nothing); asyncio is a DatagramProtocol on
create_datagram_endpoint.  Only ForkingMixIn's 40-children cap is raised, to
dispatchd's default max_clients (1024).
"""
import asyncio
import socketserver
import sys


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)


class DiscardHandler(socketserver.BaseRequestHandler):
    def handle(self):
        pass


class ForkingServer(socketserver.ForkingUDPServer):
    max_children = 1024


SERVERS = {"udp": socketserver.UDPServer, "threading": socketserver.ThreadingUDPServer,
           "forking": ForkingServer}


def announce(kind, port):
    print(f"listening on udp:127.0.0.1:{port} (python-{kind})", file=sys.stderr, flush=True)


class EchoProtocol(asyncio.DatagramProtocol):
    def __init__(self, echo):
        self.echo = echo
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if self.echo:
            self.transport.sendto(data, addr)


async def serve_asyncio(echo, port):
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: EchoProtocol(echo),
                                                       local_addr=("127.0.0.1", port))
    announce("asyncio", transport.get_extra_info("sockname")[1])
    await loop.create_future()      # forever


def main():
    if (len(sys.argv) != 4 or sys.argv[1] not in ("udp", "threading", "forking", "asyncio")
            or sys.argv[2] not in ("echo", "discard")):
        print("usage: pyudp.py udp|threading|forking|asyncio echo|discard PORT",
              file=sys.stderr)
        return 2
    kind, echo, port = sys.argv[1], sys.argv[2] == "echo", int(sys.argv[3])
    try:
        if kind == "asyncio":
            asyncio.run(serve_asyncio(echo, port))
            return 0
        cls = SERVERS[kind]
        with cls(("127.0.0.1", port), EchoHandler if echo else DiscardHandler) as server:
            announce(kind, server.server_address[1])
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
