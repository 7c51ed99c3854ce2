#!/usr/bin/env python3
"""pyhttp.py - Python's http.server as `python3 -m http.server` runs it:
ThreadingHTTPServer (a thread per connection) and SimpleHTTPRequestHandler
serving ROOT, with three changes an admin benchmarking it would make:

- HTTP/1.1 (`--protocol HTTP/1.1`): the stock HTTP/1.0 closes every
  connection after one response, so there would be no keep-alive at all;
- TCP_NODELAY (socketserver's `disable_nagle_algorithm = True`): the handler
  sends the head and the body in two sends, and on a kept-alive connection
  Nagle holds the body until the client's delayed ACK, about 40 ms: 160
  requests/s at 16 connections (measured), a timer, not the server;
- no access log: the stock handler writes a line per request to stderr, and
  has no option against it.

    pyhttp.py ROOT PORT      (PORT 0: a free one)

Prints "listening on 127.0.0.1:PORT (python-http)" on stderr.
"""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass


def main():
    root, port = sys.argv[1], int(sys.argv[2])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                          functools.partial(Handler, directory=root))
    sys.stderr.write(f"listening on 127.0.0.1:{srv.server_address[1]} (python-http)\n")
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
