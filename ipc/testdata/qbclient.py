#!/usr/bin/python3
"""A libqb IPC client driven through ctypes: the real libqb 2.0.6 client code
(libqb.so.100) against a server under test. Used by ipc's TestRealLibqbClient.

usage: qbclient.py NAME MAX_MSG_SIZE EVENTS
Talks to the test echo service: request id N -> response id N with the same
body; id 100 -> also an event id 200 with the body; id 102 with a u32 count ->
that many 8-byte sequence-number events (id 200), then the response.
Prints one line per check and "OK" at the end; exits non-zero on failure.
"""
import ctypes
import os
import socket
import struct
import sys
import time
T0 = time.time()

qb = ctypes.CDLL("libqb.so.100", use_errno=True)
vp, sz, ssz, i32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_ssize_t, ctypes.c_int32
qb.qb_ipcc_connect.restype = vp
qb.qb_ipcc_connect.argtypes = [ctypes.c_char_p, sz]
qb.qb_ipcc_send.restype = ssz
qb.qb_ipcc_send.argtypes = [vp, vp, sz]
qb.qb_ipcc_recv.restype = ssz
qb.qb_ipcc_recv.argtypes = [vp, vp, sz, i32]
qb.qb_ipcc_event_recv.restype = ssz
qb.qb_ipcc_event_recv.argtypes = [vp, vp, sz, i32]
qb.qb_ipcc_get_buffer_size.restype = i32
qb.qb_ipcc_get_buffer_size.argtypes = [vp]
qb.qb_ipcc_auth_get.restype = i32
qb.qb_ipcc_auth_get.argtypes = [vp, ctypes.POINTER(i32), ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint32)]
qb.qb_ipcc_fd_get.restype = i32
qb.qb_ipcc_fd_get.argtypes = [vp, ctypes.POINTER(i32)]
qb.qb_ipcc_disconnect.argtypes = [vp]


def fail(msg):
    print("FAIL", msg, flush=True)
    sys.exit(1)


def main():
    name, maxsize, nevents = sys.argv[1].encode(), int(sys.argv[2]), int(sys.argv[3])
    c = qb.qb_ipcc_connect(name, maxsize)
    if not c:
        fail("connect: errno %d" % ctypes.get_errno())
    size = qb.qb_ipcc_get_buffer_size(c)
    pid, uid, gid = i32(), ctypes.c_uint32(), ctypes.c_uint32()
    qb.qb_ipcc_auth_get(c, ctypes.byref(pid), ctypes.byref(uid), ctypes.byref(gid))
    fd = i32()
    qb.qb_ipcc_fd_get(c, ctypes.byref(fd))
    print("connected buffer=%d server_pid=%d uid=%d gid=%d fd=%d" % (size, pid.value, uid.value, gid.value, fd.value), flush=True)
    buf = ctypes.create_string_buffer(size)

    # Pacemaker's check on the fd of cmap_fd_get & co: SO_PEERCRED must name a
    # root server (pacemaker lib/cluster/corosync.c). The fd is the setup
    # stream socket under SHM and the event datagram socket under SOCKET.
    s = socket.socket(fileno=os.dup(fd.value))
    cpid, cuid, cgid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    kind = "stream" if s.type == socket.SOCK_STREAM else "dgram"
    s.close()
    ok = cpid == pid.value and cuid == 0
    print("fd %s peercred pid=%d uid=%d peercred-check=%s" % (kind, cpid, cuid, "pass" if ok else "fail"), flush=True)

    def request(rid, body):
        msg = struct.pack("<i4xi4x", rid, 16 + len(body)) + body
        n = qb.qb_ipcc_send(c, msg, len(msg))
        if n != len(msg):
            fail("send id %d: %d errno %d" % (rid, n, ctypes.get_errno()))
        n = qb.qb_ipcc_recv(c, buf, size, 10000)
        if n < 24:
            fail("recv id %d: %d" % (rid, n))
        hid, hsize, herr = struct.unpack_from("<i4xi4xi", buf.raw)
        if hid != rid or hsize != n or herr != 1 or buf.raw[24:n] != body:
            fail("response id %d size %d error %d (%d bytes)" % (hid, hsize, herr, n))

    def event(timeout=10000):
        n = qb.qb_ipcc_event_recv(c, buf, size, timeout)
        if n < 24:
            fail("event_recv: %d" % n)
        hid, hsize = struct.unpack_from("<i4xi", buf.raw)
        if hid != 200 or hsize != n:
            fail("event id %d size %d (%d bytes)" % (hid, hsize, n))
        return buf.raw[24:n]

    for i in range(500):
        body = (b"%d:" % i) * (i % 97)
        request(i % 50, body)
    big = bytes(range(256)) * ((size - 16 - 64) // 256)
    for i in range(3):
        request(7, big)
    print("requests ok %.2f" % (time.time()-T0), flush=True)

    for i in range(50):
        body = b"event %d" % i
        request(100, body)
        if event() != body:
            fail("event %d body" % i)
    print("events ok %.2f" % (time.time()-T0), flush=True)

    # Flow control: the server raises it for a moment; sends get EAGAIN.
    request(103, b"auto")
    msg = struct.pack("<i4xi4x", 1, 16 + 2) + b"fc"
    again = 0
    for i in range(500):
        n = qb.qb_ipcc_send(c, msg, len(msg))
        if n == -11:
            again += 1
            time.sleep(0.01)
            continue
        if n != len(msg):
            fail("send under flow control: %d" % n)
        break
    if again == 0:
        fail("flow control did not stop the client")
    n = qb.qb_ipcc_recv(c, buf, size, 10000)
    if n != 24 + 2 or buf.raw[24:26] != b"fc":
        fail("reply after flow control: %d" % n)
    print("flow control ok (%d EAGAIN)" % again, flush=True)

    # A burst the client reads only after the server has queued it all: more
    # than the datagram queue (10) and, with a small buffer, more than the ring.
    request(102, struct.pack("<I", nevents))
    for i in range(nevents):
        got = event()
        if struct.unpack("<Q", got)[0] != i:
            fail("burst event %d carries %d" % (i, struct.unpack("<Q", got)[0]))
    print("burst of %d events ok %.2f" % (nevents, time.time()-T0), flush=True)

    qb.qb_ipcc_disconnect(c)
    print("disconnected %.2f" % (time.time()-T0), flush=True)
    print("OK", flush=True)


main()
