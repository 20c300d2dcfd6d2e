#!/usr/bin/env python3
# Userspace lossy Ethernet bridge between two TAP devices: the stand-in for `tc qdisc ... netem loss` on kernels
# without sch_netem. Drops each frame (either direction) with probability LOSS_PERCENT/100.
# Usage: lossy-bridge.py TAP_A TAP_B LOSS_PERCENT SEED   (prints "ready" once both TAPs exist; runs until killed)
import fcntl
import os
import random
import select
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


a = tap(sys.argv[1])
b = tap(sys.argv[2])
loss = float(sys.argv[3]) / 100.0
rnd = random.Random(int(sys.argv[4]))
peer = {a: b, b: a}
print('ready', flush=True)
while True:
    ready, _, _ = select.select([a, b], [], [])
    for fd in ready:
        frame = os.read(fd, 65536)
        if rnd.random() < loss:
            continue
        try:
            os.write(peer[fd], frame)
        except OSError:
            pass  # peer TAP not up yet
