#!/usr/bin/env python3
"""A hostile etcd endpoint for the fleet tests: it answers etcd's JSON gateway paths with
what an attacker who can answer on an endpoint would send (tests/sh/t-fleet-hostile.sh).

    fake-etcd.py PORT MODE [ARG...]

Listens on 127.0.0.1:PORT (the test's private network namespace), one thread per
connection, and appends one line per request ("PATH") to $FAKE_ETCD_LOG when set.
Modes (ARG as listed):
    value FILE REV [HREV]  /v3/kv/range answers the requested key with FILE's bytes as its
                           value at mod_revision REV (header revision HREV, default REV);
                           /v3/watch is created and then sends nothing
    big BYTES              a JSON answer of BYTES bytes: one object with a long string
    many BYTES             a JSON answer of BYTES bytes made of tiny arrays ([],[],...),
                           each of which a JSON parser turns into a node of its own
    nested DEPTH           DEPTH nested arrays
    types                  kvs of every wrong type (numbers for strings, objects for ints)
    b64                    a kv whose key and value are not base64
    redirect URL           HTTP 307 to URL for every request
    drip SECONDS           a valid answer one byte every SECONDS
    message TEXT           an etcd error answer (HTTP 500) whose message is TEXT
    silent                 accepts, reads the request, never answers
    watch-endless VALUE REV  range as "value"; the watch sends bytes without a newline,
                           without end
    watch-junk VALUE REV   range as "value"; the watch sends lines of junk without end
    watch-cancel VALUE REV range as "value"; every watch is canceled as soon as it is
                           created (as a member does on a compacted revision)
    txn-moving SECONDS     every transaction fails after SECONDS, its compare beaten by a
                           status of web1/svc generation 1 at a new revision each time
    silent-while FILE      a request that comes while FILE exists is never answered (as
                           silent: a member that accepts and is stuck); one that comes
                           while it does not is answered as by a healthy cluster that
                           takes every write: a transaction succeeds, a lease is granted
                           and kept, a put or a delete is done, a range finds nothing
    slow-while FILE SECONDS  as silent-while, but a request that comes while FILE exists
                           is answered (as by the healthy cluster) after SECONDS: a member
                           that answers each request just inside the timeout
"""
import base64
import json
import os
import socket
import sys
import threading
import time

port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
log_path = os.environ.get("FAKE_ETCD_LOG")
log_lock = threading.Lock()
moving = [100]


def log(line):
    if log_path:
        with log_lock, open(log_path, "a") as f:
            f.write(line + "\n")


def read_request(conn):
    """The request line, the headers and the body (Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None, None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for h in lines[1:]:
        k, _, v = h.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0].split(" ")[1], body


def send(conn, status, body, ctype="application/json", extra=""):
    conn.sendall(
        (
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
        ).encode()
        + body
    )


def stream_head(conn):
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )


def chunk(conn, data):
    conn.sendall(b"%x\r\n" % len(data) + data + b"\r\n")


def header(rev):
    return {"cluster_id": "1", "member_id": "1", "revision": str(rev), "raft_term": "2"}


def range_answer(req, value_file, rev, hrev):
    with open(value_file, "rb") as f:
        value = f.read()
    kv = {
        "key": req.get("key", ""),
        "create_revision": "1",
        "mod_revision": str(rev),
        "version": "1",
        "value": base64.b64encode(value).decode(),
    }
    return json.dumps({"header": header(hrev), "kvs": [kv], "count": "1"}).encode()


def filler(size, unit):
    """A JSON array of `unit` repeated to about `size` bytes, inside an etcd answer."""
    start = b'{"header":{"revision":"5"},"kvs":['
    n = max(1, (size - len(start) - 2) // (len(unit) + 1))
    return start + (unit + b",") * (n - 1) + unit + b"]}"


def handle(conn):
    try:
        path, body = read_request(conn)
        if path is None:
            return
        log(path)
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        if mode in ("value", "watch-endless", "watch-junk", "watch-cancel"):
            rev = int(args[1])
            hrev = int(args[2]) if len(args) > 2 else rev
            if path == "/v3/kv/range":
                send(conn, "200 OK", range_answer(req, args[0], rev, hrev))
            elif path == "/v3/watch":
                stream_head(conn)
                created = {"result": {"header": header(hrev), "created": True}}
                chunk(conn, json.dumps(created).encode() + b"\n")
                if mode == "watch-cancel":
                    canceled = {"result": {"header": header(hrev), "canceled": True,
                                           "cancel_reason": "etcdserver: mvcc: required "
                                           "revision has been compacted",
                                           "compact_revision": str(hrev)}}
                    chunk(conn, json.dumps(canceled).encode() + b"\n")
                    chunk(conn, b"")
                    return
                while True:
                    if mode == "watch-endless":
                        chunk(conn, b"x" * 65536)
                    elif mode == "watch-junk":
                        chunk(conn, b"{not json at all\n" * 4096)
                    else:
                        time.sleep(1)
            else:
                send(conn, "200 OK", json.dumps({"header": header(hrev)}).encode())
        elif mode == "big":
            size = int(args[0])
            send(conn, "200 OK", b'{"kvs":"' + b"a" * size + b'"}')
        elif mode == "many":
            send(conn, "200 OK", filler(int(args[0]), b"[]"))
        elif mode == "nested":
            depth = int(args[0])
            send(conn, "200 OK", b'{"kvs":' + b"[" * depth + b"]" * depth + b"}")
        elif mode == "types":
            kvs = [
                5,
                "kv",
                {"key": 5, "value": "YQ=="},
                {"key": "YQ==", "value": ["x"]},
                {"key": "YQ==", "value": "YQ==", "mod_revision": {"a": 1}},
                {"key": "YQ==", "value": "YQ==", "mod_revision": "99999999999999999999999"},
            ]
            send(conn, "200 OK", json.dumps({"header": {"revision": []}, "kvs": kvs}).encode())
        elif mode == "b64":
            kv = {"key": "!!!not base64!!!", "value": "====", "mod_revision": "3"}
            send(conn, "200 OK", json.dumps({"header": header(3), "kvs": [kv]}).encode())
        elif mode == "redirect":
            send(conn, "307 Temporary Redirect", b"{}", extra=f"Location: {args[0]}{path}\r\n")
        elif mode == "drip":
            answer = json.dumps({"header": header(3), "kvs": []}).encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(answer)
            )
            for b in answer:
                conn.sendall(bytes([b]))
                time.sleep(float(args[0]))
        elif mode == "message":
            err = {"error": args[0], "code": 2, "message": args[0]}
            send(conn, "500 Internal Server Error", json.dumps(err).encode())
        elif mode == "txn-moving":
            time.sleep(float(args[0]))
            with log_lock:
                moving[0] += 1
                rev = moving[0]
            status = {"host": "web1", "account": "svc", "generation": 1, "version": "00",
                      "rotated_at": 1, "previous_valid_until": 0, "degraded": False,
                      "consumers": []}
            kv = {"key": base64.b64encode(b"rotsec/v1/status/web1/svc").decode(),
                  "value": base64.b64encode(json.dumps(status).encode()).decode(),
                  "create_revision": "1", "mod_revision": str(rev), "version": "1"}
            answer = {"header": header(rev), "succeeded": False,
                      "responses": [{"response_range": {"kvs": [kv], "count": "1"}}]}
            send(conn, "200 OK", json.dumps(answer).encode())
        elif mode == "silent":
            time.sleep(3600)
        elif mode in ("silent-while", "slow-while"):
            if os.path.exists(args[0]):
                time.sleep(3600 if mode == "silent-while" else float(args[1]))
            with log_lock:
                moving[0] += 1
                rev = moving[0]
            answer = {"header": header(rev)}
            if path == "/v3/kv/txn":
                answer.update(succeeded=True, responses=[])
            elif path == "/v3/lease/grant":
                answer.update(ID="7", TTL=str(req.get("TTL", "60")))
            elif path == "/v3/lease/keepalive":
                answer = {"result": {"header": header(rev), "ID": "7", "TTL": "60"}}
            elif path == "/v3/kv/range":
                answer.update(count="0")
            elif path == "/v3/kv/deleterange":
                answer.update(deleted="0")
            send(conn, "200 OK", json.dumps(answer).encode())
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        conn.close()


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
