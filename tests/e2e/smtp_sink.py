#!/usr/bin/python3
"""Loopback SMTP sink for the end-to-end tests, on Debian's python3-aiosmtpd.

  smtp_sink.py --port-file FILE --log FILE [--starttls CERT KEY]
               [--auth USER:PASS] [--reject-rcpt TEXT]

Listens on 127.0.0.1, on a port the kernel picks; writes the port to
--port-file once it accepts connections (readiness: the file exists). Every
accepted message is appended to --log as one JSON line:
  {"ts": unix seconds (float), "helo", "mail_from", "rcpt_tos": [...],
   "data": the message as text (dot-unstuffed, CRLF line ends kept, invalid
   UTF-8 replaced; "data_b64" too when it is not valid UTF-8),
   "starttls": whether the session had switched to TLS,
   "auth": the AUTH login, or null}
  --starttls CERT KEY  offer STARTTLS and require it before MAIL
  --auth USER:PASS     require AUTH (PLAIN or LOGIN) with these credentials
                       (after STARTTLS when --starttls is given)
  --reject-rcpt TEXT   answer 550 to RCPT TO addresses containing TEXT
Stop it with SIGTERM.
"""
import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import ssl
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, log_path, reject):
        self.log = open(log_path, "a", encoding="utf-8")
        self.reject = reject

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return "550 5.1.1 recipient rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        entry = {"ts": time.time(), "helo": session.host_name, "mail_from": envelope.mail_from,
                 "rcpt_tos": envelope.rcpt_tos, "data": raw.decode("utf-8", "replace"),
                 "starttls": session.ssl is not None, "auth": login}
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            entry["data_b64"] = base64.b64encode(raw).decode()
        self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.log.flush()
        return "250 2.0.0 OK: queued"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth", metavar="USER:PASS")
    ap.add_argument("--reject-rcpt", metavar="TEXT")
    a = ap.parse_args()
    if a.auth and ":" not in a.auth:
        ap.error("--auth wants USER:PASS")
    # aiosmtpd warns about its own deprecated login_data on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    tls = None
    if a.starttls:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.starttls[0], a.starttls[1])

    kwargs = {}
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode() and auth_data.password == password.encode())
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs = {"authenticator": authenticator, "auth_required": True,
                  "auth_require_tls": tls is not None}

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sink = Sink(a.log, a.reject_rcpt)

    def factory():
        return SMTP(sink, hostname="sink.test", tls_context=tls, require_starttls=tls is not None,
                    loop=loop, **kwargs)

    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, a.port_file)  # whole or absent, never half written
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
