#!/usr/bin/env python3
"""A small TCP relay that watches TLS handshakes go by (stdlib only).

It sits between a client and a TLS server on 127.0.0.0/8, relays bytes both
ways, and records for every accepted connection what the client's
ClientHello offered (the TLS versions, whether the TLS_FALLBACK_SCSV cipher
suite 0x5600 is in it) and what the server answered in clear text (the
ServerHello version, alerts sent before encryption starts).

A policy decides what happens to a connection once the ClientHello is in:

  pass        relay it (a counting relay)
  drop-first  close the first connection without a word (after reading its
              ClientHello), relay every later one: a middlebox that broke
              one handshake
  drop-tls13  close every connection whose ClientHello offers TLS 1.3 in
              supported_versions, relay the others: a TLS 1.3-intolerant
              middlebox
  drop-all    close every connection after its ClientHello: something that
              hangs up on any TLS

delay_ms makes it a slow link (tests/bench's real-link rows): every chunk
read from either side is written to the other delay_ms later (in order; an
end of stream follows the data before it, delay_ms late too), so that a
round trip costs 2 x delay_ms. The kernel still accepts the TCP connection
at once: a TCP handshake costs nothing here. Each event then has "chunks",
[(seconds since accept, "c" or "s", bytes)] in the order read (0 bytes: that
side's end of stream), and round_trips(chunks, delay) counts the times the
client spoke (or closed) after an answer had reached it: the round trips
that decide the time on a slow link.

Used as a library::

    from relay import Relay
    with Relay(("127.0.0.1", broker_tls_port), policy="drop-first") as r:
        ... connect a client to r.port ...
        events = r.settle()      # every connection accepted so far, in order
        events[0]["action"]      # "drop" or "relay"
        events[0]["hello"]       # {"versions": [...], "scsv": bool, ...}
        events[0]["server"]      # {"hello_version": ..., "alerts": [...]}

    with Relay(("127.0.0.1", port), delay_ms=25) as r:   # 50 ms RTT
        ... connect a client to r.port ...
        sum(round_trips(e["chunks"], r.delay) for e in r.settle())

settle() makes the count exact: it opens a sentinel connection and waits
until the relay has accepted it (the listening socket's backlog is FIFO, so
every earlier connection has been accepted by then) and until every earlier
connection has finished. The sentinel itself is not in the list.

As a program (for a look by hand)::

    relay.py TARGET_PORT [--target-host 127.0.0.1] [--policy drop-first] [--delay-ms 25]

prints "listening on 127.0.0.1:PORT", then one JSON line per connection.
"""

import argparse
import json
import select
import socket
import sys
import threading
import time

ALLOWED_PREFIX = "127."
SCSV = 0x5600
VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}


def version_name(v):
    return VERSION_NAMES.get(v, "0x%04x" % v) if v is not None else None


def round_trips(chunks, delay=0.0):
    """The round trips of one connection, from its chunks in the order the
    relay read them: the number of times a client flight (what the client
    sent, or its end of stream) followed a server flight that had reached it
    (delay seconds, the relay's delay, after the relay read the flight's
    first chunk; what a slow client sends before that answers nothing). A
    server flight nobody answered (after the client closed) costs no round
    trip."""
    n, last, s_first = 0, None, None
    for t, d, _n in chunks:
        if d == "s":
            if last != "s":
                s_first = t
            last = "s"
        else:
            if last == "s" and t >= s_first + delay - 0.002:
                n += 1
            last = "c"
    return n


def _loopback(host):
    if not host.startswith(ALLOWED_PREFIX):
        raise ValueError("only 127.0.0.0/8 is allowed: %r" % host)


def parse_client_hello(data):
    """Parse a ClientHello from the first bytes of a connection.

    Returns a dict: tls (bool: a TLS handshake record), complete (the whole
    ClientHello was there), record_version, client_version, versions (the
    versions offered, highest first: supported_versions when present, else
    client_version), max_version, scsv (TLS_FALLBACK_SCSV among the cipher
    suites), ciphers (count)."""
    out = {"tls": False, "complete": False, "record_version": None, "client_version": None,
           "versions": [], "max_version": None, "scsv": False, "ciphers": 0}
    if len(data) < 5 or data[0] != 22:
        return out
    out["tls"] = True
    out["record_version"] = version_name(int.from_bytes(data[1:3], "big"))
    # gather the handshake bytes across records (a ClientHello may span two)
    hs = b""
    i = 0
    while i + 5 <= len(data) and data[i] == 22:
        n = int.from_bytes(data[i + 3:i + 5], "big")
        hs += data[i + 5:i + 5 + n]
        i += 5 + n
    if len(hs) < 4 or hs[0] != 1:
        return out
    body_len = int.from_bytes(hs[1:4], "big")
    b = hs[4:4 + body_len]
    if len(b) < body_len:
        return out
    try:
        p = 0
        cv = int.from_bytes(b[p:p + 2], "big")
        out["client_version"] = version_name(cv)
        p += 2 + 32
        p += 1 + b[p]                                  # session id
        n = int.from_bytes(b[p:p + 2], "big")
        suites = [int.from_bytes(b[p + 2 + k:p + 4 + k], "big") for k in range(0, n, 2)]
        out["ciphers"] = len(suites)
        out["scsv"] = SCSV in suites
        p += 2 + n
        p += 1 + b[p]                                  # compression methods
        versions = None
        if p + 2 <= len(b):
            end = p + 2 + int.from_bytes(b[p:p + 2], "big")
            p += 2
            while p + 4 <= end:
                etype = int.from_bytes(b[p:p + 2], "big")
                elen = int.from_bytes(b[p + 2:p + 4], "big")
                ext = b[p + 4:p + 4 + elen]
                if etype == 0x002b and ext:              # supported_versions
                    versions = [int.from_bytes(ext[1 + k:3 + k], "big") for k in range(0, ext[0], 2)]
                    versions = [v for v in versions if (v & 0x0f0f) != 0x0a0a]   # no GREASE
                p += 4 + elen
        if versions is None:
            versions = [cv]
        versions = sorted(set(versions), reverse=True)
        out["versions"] = [version_name(v) for v in versions]
        out["max_version"] = version_name(versions[0]) if versions else None
        out["complete"] = True
    except IndexError:
        pass
    return out


class _ServerWatch:
    """Follows the server's records while they are in clear text."""

    def __init__(self):
        self.buf = b""
        self.clear = True
        self.hello_version = None
        self.alerts = []

    def feed(self, data):
        if not self.clear:
            return
        self.buf += data
        while len(self.buf) >= 5 and self.clear:
            ctype = self.buf[0]
            n = int.from_bytes(self.buf[3:5], "big")
            if len(self.buf) < 5 + n:
                return
            rec, self.buf = self.buf[5:5 + n], self.buf[5 + n:]
            if ctype == 21 and len(rec) >= 2:
                self.alerts.append(rec[1])
            elif ctype == 22 and rec and rec[0] == 2 and len(rec) >= 6 and self.hello_version is None:
                v = int.from_bytes(rec[4:6], "big")
                # a TLS 1.3 ServerHello names its version in supported_versions
                try:
                    b = rec[4:]
                    p = 2 + 32
                    p += 1 + b[p]
                    p += 2 + 1
                    end = p + 2 + int.from_bytes(b[p:p + 2], "big")
                    p += 2
                    while p + 4 <= end:
                        etype = int.from_bytes(b[p:p + 2], "big")
                        elen = int.from_bytes(b[p + 2:p + 4], "big")
                        if etype == 0x002b and elen == 2:
                            v = int.from_bytes(b[p + 4:p + 6], "big")
                        p += 4 + elen
                except IndexError:
                    pass
                self.hello_version = version_name(v)
            elif ctype in (20, 23):
                self.clear = False      # encrypted from here on


class Relay:
    def __init__(self, target, policy="pass", listen_host="127.0.0.1", hello_timeout=5.0, delay_ms=0):
        if policy not in ("pass", "drop-first", "drop-tls13", "drop-all"):
            raise ValueError("unknown policy %r" % policy)
        _loopback(listen_host)
        _loopback(target[0])
        self.target = tuple(target)
        self.policy = policy
        self.hello_timeout = hello_timeout
        self.delay = max(0, delay_ms) / 1000.0
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.events = []          # one dict per accepted connection
        self.sentinels = set()    # local ports of our own sentinel connections
        self.stopping = False
        self.threads = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((listen_host, 0))
        self.lsock.listen(64)
        self.host = listen_host
        self.port = self.lsock.getsockname()[1]
        self.on_event = None      # callback(event) when a connection is finished
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    # ----- lifecycle ---------------------------------------------------------
    def start(self):
        self.acceptor.start()
        return self

    def stop(self):
        with self.lock:
            self.stopping = True
        try:
            # wake the acceptor
            socket.create_connection((self.host, self.port), timeout=1).close()
        except OSError:
            pass
        self.acceptor.join(5)
        self.lsock.close()
        for t in list(self.threads):
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ----- the work ------------------------------------------------------------
    def _accept_loop(self):
        n = 0
        while True:
            try:
                c, addr = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                if self.stopping:
                    c.close()
                    return
                if addr[1] in self.sentinels:
                    self.sentinels.discard(addr[1])
                    self.cond.notify_all()
                    c.close()
                    continue
                n += 1
                ev = {"n": n, "peer_port": addr[1], "action": None, "hello": None,
                      "server": None, "done": False, "t": time.monotonic(), "chunks": []}
                self.events.append(ev)
            t = threading.Thread(target=self._serve, args=(c, ev), daemon=True)
            self.threads.append(t)
            t.start()

    def _read_hello(self, c):
        c.settimeout(self.hello_timeout)
        data = b""
        try:
            while True:
                chunk = c.recv(16384)
                if not chunk:
                    break
                data += chunk
                if len(data) >= 5:
                    if data[0] != 22:
                        break
                    h = parse_client_hello(data)
                    if h["complete"]:
                        break
                    # one full record in but not a whole hello: keep reading
        except OSError:
            pass
        return data

    def _decide(self, ev, hello):
        if self.policy == "pass":
            return "relay"
        if self.policy == "drop-all":
            return "drop"
        if self.policy == "drop-first":
            return "drop" if ev["n"] == 1 else "relay"
        # drop-tls13
        return "drop" if "TLSv1.3" in (hello.get("versions") or []) else "relay"

    def _serve(self, c, ev):
        try:
            data = self._read_hello(c)
            hello = parse_client_hello(data)
            hello["bytes"] = len(data)
            ev["hello"] = hello
            action = self._decide(ev, hello) if data else "closed-by-client"
            ev["action"] = action
            if action != "relay":
                if self.delay and action == "drop":
                    self._drop_delayed(c, ev, len(data))
                return
            watch = _ServerWatch()
            s = socket.create_connection(self.target, timeout=5)
            try:
                s.settimeout(None)
                c.settimeout(None)
                if self.delay:
                    self._pump_delayed(c, s, watch, data, ev)
                else:
                    s.sendall(data)
                    self._pump(c, s, watch)
            finally:
                ev["server"] = {"hello_version": watch.hello_version, "alerts": list(watch.alerts)}
                s.close()
        except OSError as e:
            ev["error"] = str(e)
        finally:
            try:
                c.close()
            except OSError:
                pass
            with self.lock:
                ev["done"] = True
                self.cond.notify_all()
            if self.on_event:
                self.on_event(ev)

    @staticmethod
    def _pump(c, s, watch):
        open_c, open_s = True, True   # each direction still carrying data
        while open_c or open_s:
            rl = ([c] if open_c else []) + ([s] if open_s else [])
            r, _, _ = select.select(rl, [], [], 30)
            if not r:
                return
            for sock in r:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                other = s if sock is c else c
                if data:
                    if sock is s:
                        watch.feed(data)
                    try:
                        other.sendall(data)
                    except OSError:
                        return
                    continue
                # EOF one way: pass it on, then stop that direction
                try:
                    other.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                if sock is c:
                    open_c = False
                else:
                    open_s = False
                    return    # the server is done: close the client too

    def _drop_delayed(self, c, ev, n):
        """A hang-up from the far end of the slow link: the end of stream
        reaches the client a round trip after its ClientHello; then wait
        (briefly) for the client's own close, so that the round trip counts."""
        t0 = ev["t"]
        ev["chunks"].append((round(time.monotonic() - t0, 4), "c", n))
        time.sleep(self.delay)           # on its way to the far end
        ev["chunks"].append((round(time.monotonic() - t0, 4), "s", 0))
        time.sleep(self.delay)           # the end on its way back
        try:
            c.shutdown(socket.SHUT_WR)
            c.settimeout(2)
            while c.recv(65536):
                pass
            ev["chunks"].append((round(time.monotonic() - t0, 4), "c", 0))
        except OSError:
            pass

    def _pump_delayed(self, c, s, watch, first, ev):
        """Relay both ways, each chunk delay seconds after it was read; an
        end of stream is passed on (delayed) after the data before it. The
        relay's own sockets never hold a chunk back (TCP_NODELAY)."""
        t0 = ev["t"]
        for sock in (c, s):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # per direction: the socket written to, and [(due, bytes or None=EOF)]
        queues = {c: (s, []), s: (c, [])}
        open_r = {c: True, s: True}
        if first:
            t = time.monotonic()
            queues[c][1].append((t + self.delay, first))
            ev["chunks"].append((round(t - t0, 4), "c", len(first)))
        closing = None    # once the server's end reached the client: until when to wait for the client's
        while True:
            now = time.monotonic()
            # write what is due, in order
            for src, (dst, q) in queues.items():
                while q and q[0][0] <= now:
                    _due, data = q.pop(0)
                    if data is None:
                        try:
                            dst.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        if src is s:
                            # the server is done: the client's own end
                            # (a client that waited for the server's) is
                            # recorded, then the client is closed too
                            closing = now + 2.0
                            q.clear()
                            queues[c][1].clear()
                        continue
                    try:
                        dst.sendall(data)
                    except OSError:
                        return
            if closing is not None and (not open_r[c] or now >= closing):
                return
            if not any(open_r.values()) and not any(q for _d, q in queues.values()):
                return
            dues = [q[0][0] for _d, q in queues.values() if q]
            wait = max(0.0, min(dues) - time.monotonic()) if dues else 30.0
            if closing is not None:
                wait = min(wait, max(0.0, closing - time.monotonic()))
            rl = [x for x in (c, s) if open_r[x]]
            if not rl and not dues:
                return
            r, _, _ = select.select(rl, [], [], wait)
            if not r and not dues and closing is None:
                return    # 30 s without anything: give up
            for sock in r:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                t = time.monotonic()
                if data:
                    if sock is s:
                        watch.feed(data)
                    ev["chunks"].append((round(t - t0, 4), "c" if sock is c else "s", len(data)))
                    queues[sock][1].append((t + self.delay, data))
                else:
                    open_r[sock] = False
                    ev["chunks"].append((round(t - t0, 4), "c" if sock is c else "s", 0))   # the end
                    queues[sock][1].append((t + self.delay, None))

    # ----- observation ----------------------------------------------------------
    def settle(self, timeout=10.0):
        """Every connection accepted before now, once each has finished."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((self.host, 0))
        with self.lock:
            self.sentinels.add(s.getsockname()[1])
        port = s.getsockname()[1]
        s.settimeout(timeout)
        s.connect((self.host, self.port))
        deadline = time.monotonic() + timeout
        with self.lock:
            while port in self.sentinels:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("relay did not accept the sentinel")
                self.cond.wait(left)
            snapshot = list(self.events)
            while not all(e["done"] for e in snapshot):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("relay connections did not finish: %r" % snapshot)
                self.cond.wait(left)
        s.close()
        return [dict(e) for e in snapshot]

    def mark(self):
        with self.lock:
            return len(self.events)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("target_port", type=int)
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--listen-host", default="127.0.0.1")
    ap.add_argument("--policy", default="pass", choices=("pass", "drop-first", "drop-tls13", "drop-all"))
    ap.add_argument("--delay-ms", type=int, default=0, help="delay every chunk by this much each way")
    a = ap.parse_args()
    r = Relay((a.target_host, a.target_port), policy=a.policy, listen_host=a.listen_host,
              delay_ms=a.delay_ms)

    def show(ev):
        out = {k: v for k, v in ev.items() if k != "t"}
        out["round_trips"] = round_trips(ev.get("chunks", []), r.delay)
        print(json.dumps(out), flush=True)
    r.on_event = show
    r.start()
    print("listening on %s:%d" % (r.host, r.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
