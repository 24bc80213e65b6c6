#!/usr/bin/env python3
"""A bot that crashes: works for LIFETIME seconds, then exits with EXIT_CODE (default 1)."""
import os
import sys
import time

lifetime = float(os.environ.get("LIFETIME", "2"))
print(f"crasher up, will crash in {lifetime}s", flush=True)
time.sleep(lifetime)
print("crashing now", file=sys.stderr, flush=True)
sys.exit(int(os.environ.get("EXIT_CODE", "1")))
