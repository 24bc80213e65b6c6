#!/usr/bin/env python3
"""A heartbeat bot: prints a beat every INTERVAL seconds and stops cleanly on SIGTERM."""
import os
import signal
import sys
import time

interval = float(os.environ.get("INTERVAL", "1"))
running = True


def stop(signum, _frame):
    global running
    print(f"got signal {signum}, saying goodbye", flush=True)
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

beat = 0
print(f"heartbeat bot up: pid {os.getpid()}, host {os.uname().nodename}", flush=True)
while running:
    beat += 1
    print(f"beat {beat} at {time.strftime('%H:%M:%S')}", flush=True)
    time.sleep(interval)
sys.exit(0)
