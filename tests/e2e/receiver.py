#!/usr/bin/python3
"""Loopback notification receiver for the end-to-end tests.

  receiver.py --port-file FILE --log FILE [--mode MODE]

Listens on 127.0.0.1, on a port the kernel picks; writes the port to
--port-file once it accepts connections (readiness: the file exists). Every
request outside /_... is appended to --log as one JSON line, written before
it is answered:
  {"ts": unix seconds (float), "method", "path", "query" (without "?"),
   "headers": {lowercased name: value}, "body": text (UTF-8, invalid bytes
   replaced), and "body_b64" too when the body is not valid UTF-8}
and then answered by the mode:
  200         200 "ok" (the default)
  500         500 "error"; any other 3-digit code likewise (2xx answer "ok")
  slow:<ms>   200 "ok" after <ms> milliseconds
  close       the connection is closed without an answer
Control (never recorded):
  POST /_mode  body MODE: switch; 400 if MODE is not one of the above
  GET  /_mode  the current mode
  GET  /_count the number of requests recorded so far
Threaded, so a slow answer holds only its own connection. Stop it with
SIGTERM. Only the standard library, so Debian's /usr/bin/python3 runs it.
"""
import argparse
import base64
import http.server
import json
import os
import re
import signal
import socket
import sys
import threading
import time

MAX_BODY = 16 << 20


class State:
    def __init__(self, mode, log_path):
        self.lock = threading.Lock()
        self.mode = mode
        self.count = 0
        self.log = open(log_path, "a", encoding="utf-8")

    def record(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()
            self.count += 1
            return self.mode


def valid_mode(m):
    return m == "close" or re.fullmatch(r"[1-5][0-9][0-9]", m) or re.fullmatch(r"slow:[0-9]+", m)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl reuses connections
    state = None

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    raise ValueError("body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def answer(self, code, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.answer(413, "too large")
            return
        path, _, query = self.path.partition("?")
        if path.startswith("/_"):
            self.control(path, body)
            return
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        entry = {"ts": time.time(), "method": self.command, "path": path, "query": query,
                 "headers": headers, "body": body.decode("utf-8", "replace")}
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            entry["body_b64"] = base64.b64encode(body).decode()
        mode = self.state.record(entry)
        if mode == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if mode.startswith("slow:"):
            time.sleep(int(mode[5:]) / 1000)
            mode = "200"
        code = int(mode)
        self.answer(code, "ok" if 200 <= code < 300 else "error")

    def control(self, path, body):
        st = self.state
        if path == "/_mode" and self.command == "POST":
            mode = body.decode("utf-8", "replace").strip()
            if not valid_mode(mode):
                self.answer(400, "bad mode %r\n" % mode)
                return
            with st.lock:
                st.mode = mode
            self.answer(200, "mode %s\n" % mode)
        elif path == "/_mode":
            with st.lock:
                mode = st.mode
            self.answer(200, mode + "\n")
        elif path == "/_count":
            with st.lock:
                n = st.count
            self.answer(200, "%d\n" % n)
        else:
            self.answer(404, "no such control\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="200")
    a = ap.parse_args()
    if not valid_mode(a.mode):
        ap.error("bad --mode %r" % a.mode)
    Handler.state = State(a.mode, a.log)
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)  # whole or absent, never half written
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever(poll_interval=0.1)  # SIGTERM is seen within 0.1 s
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
