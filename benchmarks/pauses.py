"""Moments the machine itself paused, told apart from the app's own stalls.

A virtual machine's host can stop a virtual CPU for ~100 ms: every thread on it waits, the GUI
thread too, and that is no stall of the app. Control processes that only sleep 5 ms at a time
run beside the app, one pinned to each CPU; a GUI gap during which one of them was held up as
well is left out of the app's figure (both figures are printed).
"""

from __future__ import annotations

import os
import subprocess
import sys

STALL_MS = 20  # gaps recorded by both meters
PROBE = f"""
import os, sys, time
os.sched_setaffinity(0, {{int(sys.argv[1])}})
last = time.monotonic()
while True:
    time.sleep(0.005)
    now = time.monotonic()
    if now - last > {STALL_MS / 1000}:
        print(now - last, now, flush=True)
    last = now
"""


def start_probes() -> list[subprocess.Popen]:
    """One control process per CPU (a host can stop one virtual CPU and not the other)."""
    return [
        subprocess.Popen([sys.executable, "-c", PROBE, str(cpu)], stdout=subprocess.PIPE, text=True)
        for cpu in sorted(os.sched_getaffinity(0))
    ]


def stop_probes(probes: list[subprocess.Popen]) -> list[tuple[float, float]]:
    """End the probes; the pauses they saw, as (seconds, monotonic end)."""
    machine = []
    for probe in probes:
        probe.kill()
        lines = probe.communicate()[0].splitlines()
        machine += [(float(gap), float(end)) for gap, end in map(str.split, lines)]
    return machine


def app_stalls(gui: list[tuple[float, float]], machine: list[tuple[float, float]]) -> list[float]:
    """The GUI gaps (ms) during which the control processes were not held up as well."""

    def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[1] - a[0] < b[1] and b[1] - b[0] < a[1]

    return [g * 1000 for g, end in gui if not any(overlaps((g, end), m) for m in machine)]
