# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A bound process that reads its token in a loop, for the guard's tests:
#   python3 owner_reads.py TOKEN STOP
# waits for TOKEN, opens it once, then every 20 ms reads it through that
# descriptor (pread) and through a fresh open, printing "N PHASE pread open"
# with each "ok" or "refused", until STOP exists. PHASE is what STOP.phase
# held when the round began ("-": nothing), so a test that writes it after a
# change knows which rounds began after it. When STOP.exec exists it execs
# dd on the kept descriptor (its stdin).
import os
import sys
import time

tok, stop = sys.argv[1], sys.argv[2]
while not os.path.exists(tok):
    time.sleep(0.01)
fd = os.open(tok, os.O_RDONLY)
n = 0
while not os.path.exists(stop):
    try:
        with open(stop + ".phase") as f:
            phase = f.read().strip() or "-"
    except OSError:
        phase = "-"
    try:
        os.pread(fd, 64, 0)
        a = "ok"
    except OSError:
        a = "refused"
    try:
        g = os.open(tok, os.O_RDONLY)
        os.read(g, 64)
        os.close(g)
        b = "ok"
    except OSError:
        b = "refused"
    n += 1
    print(n, phase, a, b, flush=True)
    if os.path.exists(stop + ".exec"):
        os.set_inheritable(fd, True)
        os.lseek(fd, 0, 0)
        os.dup2(fd, 0)
        os.execv("/bin/dd", ["dd", "bs=64", "count=1", "status=none"])
    time.sleep(0.02)
