#!/usr/bin/env python3
"""Receive syslog datagrams on a unix socket and append them to a file, one per line.

Used by tests inside a private mount namespace whose /dev/log is this socket, so that
what rotsec sends to syslog can be checked (and checked for secrets) without a syslog
daemon and without touching the host's logging.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        data = s.recv(65536)
        f.write(data.rstrip(b"\n\0") + b"\n")
