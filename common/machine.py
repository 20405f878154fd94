"""What machine a measurement ran on, recorded beside it: the same code and the same pinned packages
give a greedy 0.5B writer's output that differs from one CPU to another (docs/EVALUATION.md, "Course terms named
to the translator": an AMD EPYC and an Intel Xeon with AMX answered some questions differently), so a
figure is compared only with figures of the same machine.

>>> info = machine_info()
>>> info["cpus"] >= 1 and info["usable_cpus"] >= 1 and bool(info["machine"])
True
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# the instruction sets that choose the matrix kernels (bf16, fp32 and int8: oneDNN, llama.cpp), x86 then
# ARM; the default CPU writer runs dynamic int8, the llama.cpp server a Q4 GGUF
ISA_FLAGS = ("amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx512f", "avx_vnni", "avx2",
             "sve", "i8mm", "bf16", "asimddp", "asimd")


def parse_cpuinfo(text: str) -> dict:
    """The CPU model and its matrix-relevant instruction sets, from /proc/cpuinfo's text (x86 names the
    model and lists ``flags``; ARM lists ``Features`` and names no model, only its implementer and part).

    >>> parse_cpuinfo("processor : 0\\nmodel name : Intel(R) Xeon(R) Processor\\nflags : fpu avx2 amx_bf16 avx512f\\n")
    {'cpu': 'Intel(R) Xeon(R) Processor', 'isa': ['amx_bf16', 'avx512f', 'avx2']}
    >>> parse_cpuinfo("processor : 0\\nFeatures : fp asimd asimddp i8mm bf16\\nCPU implementer : 0x41\\nCPU part : 0xd40\\n")
    {'cpu': 'ARM implementer 0x41 part 0xd40', 'isa': ['i8mm', 'bf16', 'asimddp', 'asimd']}
    >>> parse_cpuinfo("")
    {}
    """
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())  # the first processor's
    info: dict = {}
    if fields.get("model name"):
        info["cpu"] = fields["model name"]
    elif "CPU implementer" in fields:
        info["cpu"] = f"ARM implementer {fields['CPU implementer']} part {fields.get('CPU part', '?')}"
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    if flags:
        info["isa"] = [f for f in ISA_FLAGS if f in flags]
    return info


def machine_info() -> dict:
    """Python, architecture, cores (all, and those this process may use), CPU model and its matrix
    instruction sets, torch's threads and the GPU. With an ``openai:`` writer on another host, the
    answers were written there: this describes the client only."""
    info: dict = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    info["usable_cpus"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        info.update(parse_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace")))
    except OSError:
        pass
    if "cpu" not in info and platform.processor():  # macOS, Windows
        info["cpu"] = platform.processor()
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    except Exception as exc:  # a driver that does not answer: the measurement still gets recorded
        info["cuda"] = f"unknown ({type(exc).__name__})"
    return info
