# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# systemd's side of the readiness protocol, for the tests:
#   python3 notify_ready.py SOCKET PROCBINDCTL CONTROL_SOCKET OUT
# binds the datagram socket SOCKET (SOCKET.bound once it is), and at the
# first READY=1 it receives, at once, writes to OUT what could be seen then:
# the message, `procbindctl status -o json` and the PIDs of the
# procbind-guard processes still running (not exited).
# Then it counts WATCHDOG=1 messages into OUT.watchdog until killed.
import json
import os
import socket
import subprocess
import sys

path, ctl, sock, out = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(path + ".bound", "w") as f:
    f.write("bound\n")
ready = False
dogs = 0
while True:
    msg = s.recv(4096).decode()
    lines = msg.split("\n")
    if "WATCHDOG=1" in lines:
        dogs += 1
        # whole or not at all: a reader between truncate and write saw ""
        with open(out + ".watchdog.tmp", "w") as f:
            f.write("%d\n" % dogs)
        os.replace(out + ".watchdog.tmp", out + ".watchdog")
    if ready or "READY=1" not in lines:
        continue
    ready = True
    st = subprocess.run([ctl, "--socket", sock, "status", "-o", "json"],
                        capture_output=True, text=True)
    guards = []
    for pid in subprocess.run(["pgrep", "-x", "procbind-guard"],
                              capture_output=True, text=True).stdout.split():
        try:
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":  # exited, not reaped yet: answers nothing
            guards.append(pid)
    with open(out + ".tmp", "w") as f:
        json.dump({"msg": msg,
                   "status": json.loads(st.stdout) if st.returncode == 0 else None,
                   "guards": guards}, f)
    subprocess.run(["mv", out + ".tmp", out])
