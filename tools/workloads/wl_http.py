"""Workload 3: threaded HTTP server under load.

http.server's ThreadingHTTPServer on 127.0.0.1 (an ephemeral port), HTTP/1.1
keep-alive, one thread per connection. Every GET does a little pure-Python
work (sum over range(2000)) and answers a short body. The driver loads it
with wrk and reads requests/s and latency from wrk; this process only
serves, until SIGTERM or SIGINT (then it exits at once, status 0).

Prints `PORT <port>`, then `READY <pid>` (_wl.ready()) once listening.
"""
import argparse
import http.server
import os
import signal
import socketserver
import sys

import _wl

WORK = 2000


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the
    # second waits for the client's delayed ACK (40 ms per request).
    disable_nagle_algorithm = True

    def do_GET(self):
        body = b"ok %d\n" % sum(range(WORK))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    # = http.server.ThreadingHTTPServer (3.7+), spelled out for 3.6.
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # wrk resets its connections when it stops: not an error


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)

    def bye(sig, frame):
        sys.stdout.flush()
        os._exit(0)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    _wl.say("PORT %d" % srv.server_address[1])
    _wl.ready()
    srv.serve_forever()


if __name__ == "__main__":
    main()
