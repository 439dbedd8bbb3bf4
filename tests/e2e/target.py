#!/usr/bin/python3
"""Loopback HTTP target for the end-to-end tests.

  target.py PORT CONTROL_PORT

PORT serves what the monitors check; CONTROL_PORT switches its behaviour:
  GET /mode/200     answer 200 "ok" (the default)
  GET /mode/500     answer 500 "error"
  GET /mode/slow    answer after 5 s (longer than the tests' timeouts)
  GET /mode/closed  stop listening: connections are refused
  GET /hits         how many requests PORT has served
  GET /mode/degraded  /health.json says "degraded" (other paths answer 200)
On PORT, /redirect answers 302 to /; /echo answers (any method) with a JSON
object of the request's method, headers and body; /health.json with
{"status": "ok", "checks": [{"name": "db", "latency_ms": 12}], "ready": true}
("degraded" in mode degraded). With --tls CERT KEY, PORT speaks HTTPS.
Only the standard library, so Debian's /usr/bin/python3 runs it as is.
"""
import http.server
import json
import socketserver
import ssl
import sys
import threading
import time

state = {"mode": "200", "hits": 0}
lock = threading.Lock()


class Target(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        with lock:
            state["hits"] += 1
            mode = state["mode"]
        if mode == "slow":
            time.sleep(5)
        if self.path.startswith("/echo"):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
            self.reply(200, json.dumps({"method": self.command,
                                        "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "body": body}).encode(), "application/json")
            return
        if self.path.startswith("/health.json"):
            doc = {"status": "degraded" if mode == "degraded" else "ok",
                   "checks": [{"name": "db", "latency_ms": 12}], "ready": True}
            self.reply(200, json.dumps(doc).encode(), "application/json")
            return
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        code = 500 if mode == "500" else 200
        body = b"error\n" if code == 500 else b"ok\n"
        try:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def reply(self, code, body, ctype):
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port, cport = int(sys.argv[1]), int(sys.argv[2])
    holder = {"srv": None}
    tls = None
    if len(sys.argv) == 6 and sys.argv[3] == "--tls":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[4], sys.argv[5])

    def open_target():
        srv = Server(("127.0.0.1", port), Target)
        if tls:
            srv.socket = tls.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        holder["srv"] = srv

    class Control(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            parts = self.path.strip("/").split("/")
            if parts[0] == "mode" and len(parts) == 2:
                mode = parts[1]
                with lock:
                    old = state["mode"]
                    state["mode"] = mode
                if mode == "closed" and holder["srv"]:
                    holder["srv"].shutdown()
                    holder["srv"].server_close()
                    holder["srv"] = None
                elif mode != "closed" and old == "closed":
                    open_target()
                out = b"mode " + mode.encode() + b"\n"
            elif parts[0] == "hits":
                out = str(state["hits"]).encode() + b"\n"
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    open_target()
    ctl = Server(("127.0.0.1", cport), Control)
    ctl.serve_forever()


if __name__ == "__main__":
    main()
