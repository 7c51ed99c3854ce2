#!/usr/bin/env python3
"""pyecho.py - the classic Python echo servers the bench compares against.

Usage: pyecho.py threading|forking|asyncio PORT   (PORT 0: a free port)
Prints "listening on 127.0.0.1:PORT (python-KIND)" on stderr once bound.

threading and forking are socketserver's ThreadingTCPServer and
ForkingTCPServer with the textbook recv/sendall handler; asyncio is the
streams echo server of the asyncio documentation.  Only the limits a user
would raise for many clients are changed: the listen backlog (128, as
dispatchd's default) and ForkingMixIn's 40-children cap.
"""
import asyncio
import socketserver
import sys

READ_SIZE = 65536


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        while True:
            data = sock.recv(READ_SIZE)
            if not data:
                break
            sock.sendall(data)


class ThreadingServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


class ForkingServer(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    request_queue_size = 128
    max_children = 100000


def announce(kind, port):
    print(f"listening on 127.0.0.1:{port} (python-{kind})", file=sys.stderr, flush=True)


async def handle_stream(reader, writer):
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve_asyncio(port):
    server = await asyncio.start_server(handle_stream, "127.0.0.1", port, backlog=128)
    announce("asyncio", server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("threading", "forking", "asyncio"):
        print("usage: pyecho.py threading|forking|asyncio PORT", file=sys.stderr)
        return 2
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "asyncio":
        try:
            asyncio.run(serve_asyncio(port))
        except KeyboardInterrupt:
            pass
        return 0
    cls = ThreadingServer if kind == "threading" else ForkingServer
    with cls(("127.0.0.1", port), EchoHandler) as server:
        announce(kind, server.server_address[1])
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
