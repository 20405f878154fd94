"""What machine a measurement ran on, recorded beside it: the same code and the same pinned packages
give a greedy 0.5B writer's output that differs from one CPU to another (README, "Course terms named to
the translator": an AMD EPYC and an Intel Xeon with AMX answered some questions differently), so a
figure is compared only with figures of the same machine.

>>> info = machine_info()
>>> info["cpus"] >= 1 and bool(info["machine"]) and isinstance(info.get("isa", []), list)
True
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# the instruction sets that choose the matrix kernels (oneDNN and friends), newest first
ISA_FLAGS = ("amx_bf16", "avx512_bf16", "avx512f", "avx2", "asimd", "sve")


def machine_info() -> dict:
    """Python, architecture, cores, CPU model, its matrix-relevant instruction sets and the GPU."""
    info: dict = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and "cpu" not in info:
            info["cpu"] = value.strip()
        elif key in ("flags", "Features") and not flags:  # x86 / arm
            flags = set(value.split())
    if cpuinfo:
        info["isa"] = [f for f in ISA_FLAGS if f in flags]
    try:
        import torch

        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info
