#!/bin/bash
# TLS monitors against servers started here with certificates made here: a
# test CA and leaves that expire in 3, 15 and 60 days, one expired, one for
# another name, one self-signed; served by openssl s_server, and over SMTP
# STARTTLS by a small Python server (one that offers STARTTLS, one that
# does not, one that refuses it). The test CA is not in the system's trust
# store: most monitors run with tls_verify: false, and the ones with
# tls_verify: true check how a chain failure is reported.
. "$(dirname "$0")/lib.sh"

ossl() { openssl "$@" 2>>"$T/openssl.log"; }

# mkleaf NAME DAYS SAN: a P-256 leaf signed by the test CA, valid DAYS days
# from now (-1: it expired yesterday).
mkleaf() {
    ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$T/$1.key" -out "$T/$1.csr" &&
        ossl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -set_serial "$RANDOM" \
            -days "$2" -extfile <(printf 'subjectAltName=%s\n' "$3") -out "$T/$1.pem"
}

ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=opsd e2e test CA" -keyout "$T/ca.key" -out "$T/ca.pem" &&
    mkleaf days60 60 "DNS:localhost,IP:127.0.0.1" &&
    mkleaf days15 15 "DNS:localhost,IP:127.0.0.1" &&
    mkleaf days3 3 "DNS:localhost,IP:127.0.0.1" &&
    mkleaf expired -1 "DNS:localhost,IP:127.0.0.1" &&
    mkleaf wronghost 60 "DNS:wrong.example,DNS:*.wrong.example" &&
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost" -keyout "$T/selfsigned.key" -out "$T/selfsigned.pem" ||
    { not_ok "openssl made no certificates"; cat "$T/openssl.log"; finish; exit 1; }

listening() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# serve_tls NAME VAR: openssl s_server with NAME's certificate (the leaf
# only, no chain) on a free port, stored in VAR.
serve_tls() {
    local p
    p=$(free_port)
    openssl s_server -accept "127.0.0.1:$p" -cert "$T/$1.pem" -key "$T/$1.key" -www -quiet \
        </dev/null >/dev/null 2>&1 &
    PIDS+=($!)
    wait_for 10 listening "$p" || { not_ok "s_server for $1 did not start"; finish; exit 1; }
    printf -v "$2" '%s' "$p"
}

cat >"$T/smtpd.py" <<'PY'
# A few lines of SMTP, enough for STARTTLS: greeting, EHLO, STARTTLS, TLS.
# mode: starttls (offers and does it), plain (does not offer it), refuse
# (offers it, then answers 454).
import socketserver, ssl, sys

port, cert, key, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            self.wfile.write(b"220 mail.test ESMTP opsd-e2e\r\n")
            if not self.rfile.readline().upper().startswith(b"EHLO "):
                self.wfile.write(b"503 5.5.1 EHLO first\r\n")
                return
            caps = [b"mail.test greets you", b"PIPELINING", b"SIZE 10240000"]
            if mode != "plain":
                caps.append(b"STARTTLS")
            caps.append(b"8BITMIME")
            self.wfile.write(b"".join(b"250" + (b" " if i == len(caps) - 1 else b"-") + c + b"\r\n"
                                      for i, c in enumerate(caps)))
            if self.rfile.readline().strip().upper() != b"STARTTLS":
                self.wfile.write(b"502 5.5.1 not that\r\n")
                return
            if mode == "refuse":
                self.wfile.write(b"454 4.7.0 TLS not available due to local problem\r\n")
                return
            self.wfile.write(b"220 2.0.0 Ready to start TLS\r\n")
            tls = ctx.wrap_socket(self.connection, server_side=True)
            if tls.recv(64).startswith(b"QUIT"):
                tls.sendall(b"221 2.0.0 Bye\r\n")
        except (OSError, ssl.SSLError):
            pass


socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler).serve_forever()
PY

# serve_smtp MODE VAR: the SMTP server above, with the 60-day leaf.
serve_smtp() {
    local p
    p=$(free_port)
    $PY "$T/smtpd.py" "$p" "$T/days60.pem" "$T/days60.key" "$1" >/dev/null 2>&1 &
    PIDS+=($!)
    wait_for 10 listening "$p" || { not_ok "the $1 SMTP server did not start"; finish; exit 1; }
    printf -v "$2" '%s' "$p"
}

serve_tls days60 P60
serve_tls days15 P15
serve_tls days3 P3
serve_tls expired PEXP
serve_tls wronghost PWRONG
serve_tls selfsigned PSELF
serve_smtp starttls PSMTP
serve_smtp plain PSMTP_PLAIN
serve_smtp refuse PSMTP_REFUSE
PCLOSED=$(free_port)
# A server that takes connections (the kernel's backlog) and never speaks.
PMUTE=$(free_port)
$PY -c "import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $PMUTE)); s.listen(64); time.sleep(3600)" &
PIDS+=($!)
wait_for 10 listening "$PMUTE" || { not_ok "the mute server did not start"; finish; exit 1; }

new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 2s, timeout: 2s, confirm: 1}
monitors:
  - {name: days60, type: tls, host: 127.0.0.1, port: $P60, server_name: localhost, tls_verify: false}
  - {name: days15, type: tls, host: 127.0.0.1, port: $P15, server_name: localhost, tls_verify: false}
  - {name: days3, type: tls, host: 127.0.0.1, port: $P3, server_name: localhost, tls_verify: false}
  - {name: expired, type: tls, host: 127.0.0.1, port: $PEXP, server_name: localhost, tls_verify: false}
  - {name: wronghost, type: tls, host: 127.0.0.1, port: $PWRONG, server_name: localhost, tls_verify: false}
  - {name: by-address, type: tls, host: 127.0.0.1, port: $P60, tls_verify: false, warn_days: 90, critical_days: 10}
  - {name: by-name, type: tls, host: localhost, port: $P60, tls_verify: false}
  - {name: untrusted-ca, type: tls, host: 127.0.0.1, port: $P60, server_name: localhost}
  - {name: self-signed, type: tls, host: 127.0.0.1, port: $PSELF, server_name: localhost}
  - {name: closed, type: tls, host: 127.0.0.1, port: $PCLOSED}
  - {name: smtp, type: tls, host: 127.0.0.1, port: $PSMTP, starttls: smtp, server_name: localhost, tls_verify: false}
  - {name: smtp-no-starttls, type: tls, host: 127.0.0.1, port: $PSMTP_PLAIN, starttls: smtp, tls_verify: false}
  - {name: smtp-refused, type: tls, host: 127.0.0.1, port: $PSMTP_REFUSE, starttls: smtp, tls_verify: false}
  - {name: smtp-not-tls, type: tls, host: 127.0.0.1, port: $PSMTP, tls_verify: false}
  - {name: tls-not-smtp, type: tls, host: 127.0.0.1, port: $P60, starttls: smtp, timeout: 1s}
  - {name: mute, type: tls, host: 127.0.0.1, port: $PMUTE, timeout: 2s}
YAML
check "opsd check accepts the tls monitors" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

status_is() { [ "$(api "/api/v1/monitors/$1" | jq -r .last_result.status)" = "$2" ]; }
series() { curl -s "$URL/api/v1/monitors/$1/metrics?limit=1&name=$2" | jq -r '.metrics[0].value'; }
series_is() { [ "$(series "$1" "$2")" = "$3" ]; }

eventually 10 "60 days left: up" state_is days60 up
check "ok, with protocol, cipher, days, date and the chain in the message" msg_like days60 \
    "TLSv1.3 (TLS_*), certificate for localhost valid 59 days (until ????-??-??), chain not trusted: unable to get local issuer certificate (ignored: tls_verify is false)"
check "the status is ok" status_is days60 ok
check "cert_days is recorded (59)" bash -c "[ \$(curl -s $URL/api/v1/monitors/days60 | jq .last_result.cert_days) = 59 ]"
check "the timings are recorded (connect, tls)" bash -c \
    "curl -s $URL/api/v1/monitors/days60 | jq -e '.last_result.timings_ms.connect > 0 and .last_result.timings_ms.tls >= .last_result.timings_ms.connect' >/dev/null"
eventually 5 "cert_days is a metric series" series_is days60 cert_days 59
check "/metrics exports the days to expiry" bash -c \
    "curl -s $URL/metrics | grep -q '^opsd_monitor_cert_expiry_days{monitor=\"days60\"} 59\$'"
check "so is handshake_seconds, in seconds" bash -c \
    "curl -s '$URL/api/v1/monitors/days60/metrics?limit=1&name=handshake_seconds' | jq -e '.metrics[0].value > 0 and .metrics[0].value < 2 and .metrics[0].unit == \"s\"' >/dev/null"

eventually 10 "15 days left (<= warn_days 21): a warning" status_is days15 warning
check "a warning is still up" state_is days15 up
check "the message says when and which threshold" msg_like days15 \
    "certificate for localhost expires in 14 days (????-??-??; warn_days 21); TLSv1.3 *"
eventually 10 "3 days left (<= critical_days 7): down" state_is days3 down
check "critical, with the threshold in the message" msg_like days3 \
    "certificate for localhost expires in 2 days (????-??-??; critical_days 7); *"
eventually 10 "an expired certificate: down even with tls_verify: false" state_is expired down
check "the message says since when" msg_like expired "certificate for localhost expired on ????-??-?? (1 day ago); TLSv1.3*"
check "cert_days is negative" bash -c "[ \$(curl -s $URL/api/v1/monitors/expired | jq .last_result.cert_days) -lt 0 ]"

eventually 10 "a certificate for another name: down" state_is wronghost down
check "the message names the names in the certificate" msg_like wronghost \
    "certificate is not valid for 'localhost' (it is for wrong.example, \\*.wrong.example); TLSv1.3 *, certificate valid 59 days*"
eventually 10 "without server_name the address is the name checked (IP SAN), thresholds per monitor" \
    status_is by-address warning
check "and the warning uses the monitor's warn_days" msg_like by-address \
    "certificate for 127.0.0.1 expires in 59 days (*; warn_days 90); *"
eventually 10 "a host name is resolved and used as the name checked" state_is by-name up
check "the name lookup time is recorded" bash -c \
    "curl -s $URL/api/v1/monitors/by-name | jq -e '.last_result.timings_ms.dns != null' >/dev/null"

eventually 10 "tls_verify: true with a CA not in the trust store: down" state_is untrusted-ca down
check "OpenSSL's reason in the message" msg_like untrusted-ca "chain: unable to get local issuer certificate; TLSv1.3 *"
eventually 10 "tls_verify: true with a self-signed certificate: down" state_is self-signed down
check "the message says self-signed" msg_like self-signed "chain: self-signed certificate; *"
eventually 10 "a closed port: down" state_is closed down
check "the message says connection refused" msg_like closed "connect: connection refused (after *ms)"

eventually 10 "STARTTLS over SMTP: up" state_is smtp up
check "the certificate behind STARTTLS is judged" msg_like smtp "TLSv1.3 (*), certificate for localhost valid 59 days*"
eventually 10 "a server without STARTTLS: down" state_is smtp-no-starttls down
check "the message says STARTTLS is not offered" msg_like smtp-no-starttls \
    "smtp: the server does not offer STARTTLS (not in its EHLO reply) (after *"
eventually 10 "a server that refuses STARTTLS: down" state_is smtp-refused down
check "the message quotes its answer" msg_like smtp-refused \
    "smtp: STARTTLS answered '454 4.7.0 TLS not available due to local problem' (expected 220) (after *"
eventually 10 "TLS to an SMTP port: down" state_is smtp-not-tls down
check "the handshake failure gives OpenSSL's reason" msg_like smtp-not-tls "tls: handshake failed: *"
eventually 10 "STARTTLS to a TLS port gets no greeting: down" state_is tls-not-smtp down
check "the timeout says what it waited for" msg_like tls-not-smtp "timeout: no SMTP greeting (after *ms)"
eventually 10 "a server that never answers the ClientHello: down" state_is mute down
check "the timeout says the handshake did not finish" msg_like mute "timeout: the TLS handshake did not finish (after *ms)"

# A reload that changes monitors whose checks are in flight (mute spends
# its whole interval waiting) cancels them; the next checks run as before.
sed -i -e "s/port: $PMUTE, timeout: 2s/port: $PMUTE, timeout: 1900ms/" -e '/name: tls-not-smtp/d' \
    -e 's/name: days60, \(.*\)}/name: days60, \1, warn_days: 70}/' "$T/opsd.yaml"
in_flight() { [ "$(metric opsd_checks_in_flight)" -ge 1 ]; }
wait_for 10 in_flight
kill -HUP "$OPSD_PID"
eventually 10 "the reload is applied" grep -q 'event=reloaded monitors=15 added=0 changed=2 removed=1' "$T/opsd.log"
eventually 10 "a changed monitor checks with its new settings" msg_like days60 "certificate for localhost expires in 59 days (*; warn_days 70); *"
eventually 10 "the changed mute monitor still times out" msg_like mute "timeout: the TLS handshake did not finish (after 1*ms)"

wait_for 10 in_flight
stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
check "no sanitizer or leak reports" bash -c "! grep -qE 'Sanitizer|runtime error' '$T/opsd.log'"

# OpenSSL's default trust store honours SSL_CERT_FILE: with the test CA in
# it, the same certificates verify, and the chain is reported ok.
new_port
cat >"$T/opsd2.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data2"}
defaults: {interval: 2s, timeout: 2s, confirm: 1}
monitors:
  - {name: trusted, type: tls, host: 127.0.0.1, port: $P60, server_name: localhost}
  - {name: trusted-but-expired, type: tls, host: 127.0.0.1, port: $PEXP, server_name: localhost}
YAML
export SSL_CERT_FILE="$T/ca.pem"
start_opsd "$T/opsd2.yaml"
unset SSL_CERT_FILE
eventually 10 "a chain that verifies: up" state_is trusted up
check "and the message says chain ok" msg_like trusted "TLSv1.3 (*), certificate for localhost valid 59 days (until *), chain ok"
eventually 10 "an expired certificate from a trusted CA: down" state_is trusted-but-expired down
check "expiry is said once, not again as a chain error" msg_like trusted-but-expired \
    "certificate for localhost expired on ????-??-?? (1 day ago); TLSv1.3 (TLS_*)"
check "(the message does not mention the chain)" bash -c \
    "! curl -s $URL/api/v1/monitors/trusted-but-expired | jq -r .last_result.message | grep -q chain"
stop_opsd
check "SIGTERM exits 0 again" [ "$STOP_RC" -eq 0 ]

# Config errors for the tls keys, located.
cat >"$T/bad.yaml" <<YAML
monitors:
  - {name: a, type: tls, host: 127.0.0.1, starttls: imap}
  - {name: b, type: tls, host: 127.0.0.1, warn_days: 3, critical_days: 7}
  - {name: c, type: tls}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
rc=$?
check "opsd check exits 2 on bad tls keys" [ "$rc" -eq 2 ]
check "an unknown starttls protocol is rejected" grep -q "bad.yaml:2:.*starttls 'imap' is not supported (only smtp)" "$T/bad.out"
check "warn_days below critical_days is rejected" grep -q "bad.yaml:3:.*warn_days '3' is below critical_days '7'" "$T/bad.out"
check "a tls monitor needs a host" grep -q "bad.yaml:4:.*missing required key 'host'" "$T/bad.out"
finish
