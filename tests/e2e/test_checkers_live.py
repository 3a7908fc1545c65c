#!/usr/bin/python3
"""SSL_GET, PING_CHECK, UDP_CHECK, DNS_CHECK and SMTP_CHECK end to end: dplbd checks real servers in
the test's namespace (nginx over TLS with a self-signed certificate, an address that answers ping, a
UDP echo service, a DNS responder, an SMTP responder). Each is taken down, seen DOWN through
`dplbctl status`, brought back and seen up again; /metrics shows dplb_real_up and the check types."""

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Site, check, nginx_command, run, sh  # noqa: E402

VIP = "10.10.0.100"
METRICS_PORT = 21000 + os.getpid() % 1000
SSL, PING, UDP, DNS, SMTP = "10.10.0.21", "10.10.0.22", "10.10.0.23", "10.10.0.24", "10.10.0.25"
UDP_PORT = 5353
# delay_loop 1 + connect_timeout 1 (retry 0), and room for a loaded machine.
LIMIT = 1 + 1 + 6.0


class Responder:
    """A server socket served on a thread of its own until close(); every wait is bounded by the
    socket's 0.2 s timeout so the thread notices the stop flag."""

    def __init__(self, kind, addr, serve):
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(addr)
        if kind == socket.SOCK_STREAM:
            self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = False
        self.serve = serve
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            try:
                self.serve(self.sock)
            except (socket.timeout, OSError):
                pass

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


def udp_echo(sock):
    data, peer = sock.recvfrom(2048)
    sock.sendto(data, peer)


class Dns:
    """Answers every query with its own header as a response carrying self.rcode."""

    def __init__(self):
        self.rcode = 0

    def serve(self, sock):
        data, peer = sock.recvfrom(2048)
        if len(data) >= 12:
            sock.sendto(data[:2] + bytes([0x81, 0x80 | self.rcode]) + data[4:], peer)


class Smtp:
    """Greets with self.greeting, answers HELO with 250 and QUIT with 221."""

    def __init__(self):
        self.greeting = b"220 mx.test ESMTP\r\n"

    def serve(self, sock):
        conn, _ = sock.accept()
        with conn:
            conn.settimeout(2)
            conn.sendall(self.greeting)
            f = conn.makefile("rb")
            for _ in range(4):  # HELO, QUIT and no more
                line = f.readline()
                if not line:
                    return
                if line.startswith(b"HELO "):
                    conn.sendall(b"250 mx.test\r\n")
                elif line.startswith(b"QUIT"):
                    conn.sendall(b"221 bye\r\n")
                    return


def body(lab):
    lab.exec_ns("ip", "addr", "add", "10.10.0.2/24", "dev", "lb0")
    for ip in (SSL, PING, UDP, DNS, SMTP):
        lab.exec_ns("ip", "addr", "add", ip + "/32", "dev", "cl0")

    # nginx over TLS, with a certificate made for the test.
    cert, key = os.path.join(lab.dir, "cert.pem"), os.path.join(lab.dir, "key.pem")
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days",
       "2", "-subj", "/CN=www.test", "-addext", "subjectAltName=DNS:www.test", "-keyout", key, "-out", cert)
    nginx_cmd = nginx_command(os.path.join(lab.dir, "nginx"),
                              "    listen %s:443 ssl;\n    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
                              "    location = /health { return 200 \"ok\\n\"; }" % (SSL, cert, key))
    nginx = [None]

    def start_nginx():
        nginx[0] = subprocess.Popen(nginx_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_nginx():
        if nginx[0]:
            Site.stop(nginx[0])

    start_nginx()
    lab.on_close(stop_nginx)

    servers = {}
    lab.on_close(lambda: [s.close() for s in servers.values()])
    dns, smtp = Dns(), Smtp()
    servers["udp"] = Responder(socket.SOCK_DGRAM, (UDP, UDP_PORT), udp_echo)
    servers["dns"] = Responder(socket.SOCK_DGRAM, (DNS, 53), dns.serve)
    servers["smtp"] = Responder(socket.SOCK_STREAM, (SMTP, 25), smtp.serve)

    common = "          connect_timeout: 1\n          retry: 0\n          delay_before_retry: 1\n"
    checks = {
        SSL: "type: ssl\n          connect_port: 443\n          path: /health\n          enable_sni: true\n"
             "          virtualhost: www.test\n          verify: true\n          ca_file: %s\n" % cert,
        PING: "type: ping\n",
        UDP: "type: udp\n          connect_port: %d\n          payload: \"68656c6c6f\"\n"
             "          require_reply: \"68656c\"\n" % UDP_PORT,
        DNS: "type: dns\n          connect_port: 53\n          dns_type: A\n          dns_name: www.test\n",
        SMTP: "type: smtp\n          connect_port: 25\n          helo_name: lb.test\n",
    }
    reals = ""
    for n, ip in enumerate((SSL, PING, UDP, DNS, SMTP)):
        reals += ('      - ip: %s\n        mac: "02:00:00:00:00:%02x"\n        health_check:\n          %s%s'
                  % (ip, 0x21 + n, checks[ip], common))
    cfg = ("ports:\n  - name: lan0\n    device: net_af_packet0\n"
           "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
           "control:\n  socket: %s\nmetrics:\n  listen: 127.0.0.1:%d\n" % (lab.sock, METRICS_PORT) +
           "services:\n  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    delay_loop: 1\n"
           "    real_servers:\n%s" % (VIP, reals))
    lab.start(cfg)

    def state(ip):
        m = re.search(r"%s:80 (up|DOWN)" % re.escape(ip), lab.ctl_ok("status"))
        return m.group(1) if m else None

    def wait_state(ip, want, what):
        start = time.time()
        while time.time() - start < LIMIT:
            if state(ip) == want:
                print("ok: %s: %s after %.1f s" % (what, want, time.time() - start))
                return
            time.sleep(0.1)
        check(False, "%s %s within %.1f s:\n%s" % (what, want, LIMIT, lab.ctl_ok("status")))

    # Non-alpha reals start up: look again once every type has completed checks (below).
    for ip in (SSL, PING, UDP, DNS, SMTP):
        wait_state(ip, "up", ip)
    text = lab.scrape(METRICS_PORT)
    for kind in ("ssl", "ping", "udp", "dns", "smtp"):
        start = time.time()
        while not re.search(r'^dplb_health_check_duration_seconds_count\{[^}]*check="%s"[^}]*\} [1-9]' % kind,
                            text, re.M):
            if time.time() - start > LIMIT:
                check(False, "metrics: a completed %s check" % kind)
            time.sleep(0.2)
            text = lab.scrape(METRICS_PORT)
        check(True, "metrics: %s checks complete" % kind)
    for ip in (SSL, PING, UDP, DNS, SMTP):
        check(state(ip) == "up", "%s up after its checks ran" % ip)

    # Down and back, one at a time; the others stay up meanwhile.
    def cycle(ip, what, down, up):
        down()
        wait_state(ip, "DOWN", what + " taken down")
        others = [o for o in (SSL, PING, UDP, DNS, SMTP) if o != ip and state(o) != "up"]
        check(not others, "the other reals stay up while %s is down (%s)" % (what, others))
        if ip == SSL:
            text = lab.scrape(METRICS_PORT)
            check(re.search(r'^dplb_real_up\{[^}]*real="%s:80"[^}]*\} 0$' % re.escape(ip), text, re.M) is not None,
                  "metrics: dplb_real_up 0 for the TLS real")
        up()
        wait_state(ip, "up", what + " brought back")

    cycle(SSL, "nginx over TLS", stop_nginx, start_nginx)
    cycle(PING, "the pinged address", lambda: lab.exec_ns("ip", "addr", "del", PING + "/32", "dev", "cl0"),
          lambda: lab.exec_ns("ip", "addr", "add", PING + "/32", "dev", "cl0"))

    def udp_down():
        servers.pop("udp").close()  # the kernel answers port unreachable

    def udp_up():
        servers["udp"] = Responder(socket.SOCK_DGRAM, (UDP, UDP_PORT), udp_echo)

    cycle(UDP, "the UDP service", udp_down, udp_up)
    cycle(DNS, "the DNS responder (SERVFAIL)", lambda: setattr(dns, "rcode", 2), lambda: setattr(dns, "rcode", 0))
    cycle(SMTP, "the SMTP responder (554 greeting)", lambda: setattr(smtp, "greeting", b"554 closed\r\n"),
          lambda: setattr(smtp, "greeting", b"220 mx.test ESMTP\r\n"))

    text = lab.scrape(METRICS_PORT)
    for ip in (SSL, PING, UDP, DNS, SMTP):
        check(re.search(r'^dplb_real_up\{[^}]*real="%s:80"[^}]*\} 1$' % re.escape(ip), text, re.M) is not None,
              "metrics: dplb_real_up 1 for %s at the end" % ip)
    log = lab.read_log()
    for ip in (SSL, PING, UDP, DNS, SMTP):
        check(log.count("%s:80 is DOWN" % ip) == 1, "one DOWN logged for %s" % ip)


if __name__ == "__main__":
    run(body)
