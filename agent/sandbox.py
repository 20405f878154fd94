"""Run a small Python demo in a separate, limited process and collect its output and figures.

>>> r = run_python("import math\\nprint(round(-sum(p * math.log2(p) for p in [0.5, 0.25, 0.25]), 3))")
>>> r.ok, r.stdout
(True, '1.5\\n')
>>> run_python("while True: pass", SandboxLimits(timeout_s=1)).timed_out
True

Isolation, strongest first (``isolation_layers()`` says which are active on this machine):

1. ``namespaces``: ``unshare --net --pid --fork --kill-child``: no network interfaces but a
   private loopback, and every process the demo starts dies with it.
2. ``uid``: when the app runs as root, the demo runs as a throwaway unprivileged uid
   (``setpriv``), so it cannot write the app's files or signal its processes, and the process
   limit (RLIMIT_NPROC) applies.
3. always: ``python -I -B`` in a fresh temporary working directory, a scrubbed environment (no
   API keys, tokens or app settings), resource limits (CPU seconds, address space, file size,
   processes, no core dumps), a wall-clock timeout that kills the whole process group, and an
   audit hook installed before the demo's code that refuses sockets, process creation,
   signals to other processes and writes outside the working directory.

Not stopped: reading world-readable files (the demo can read the corpus and the code);
determined native code (ctypes) can bypass the audit hook, which is why layers 1–2 matter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

CHILD = Path(__file__).with_name("sandbox_child.py")
SANDBOX_UID_BASE = 61000  # throwaway uids 61000–61999, no passwd entry needed


@dataclass
class SandboxLimits:
    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    max_processes: int = 64  # threads count too (numpy/BLAS)
    file_mb: int = 10
    output_chars: int = 20_000
    max_figures: int = 5

    @classmethod
    def from_settings(cls, settings) -> "SandboxLimits":
        return cls(
            timeout_s=settings.sandbox_timeout_s,
            cpu_s=settings.sandbox_cpu_s,
            memory_mb=settings.sandbox_memory_mb,
            max_processes=settings.sandbox_max_processes,
            file_mb=settings.sandbox_file_mb,
            output_chars=settings.sandbox_output_chars,
            max_figures=settings.sandbox_max_figures,
        )


@dataclass
class SandboxResult:
    ok: bool
    stdout: str
    stderr: str
    error: dict | None  # {"type", "message", "traceback"}
    figures: list[bytes] = field(default_factory=list)  # PNG bytes
    duration_s: float = 0.0
    timed_out: bool = False
    limits_hit: list[str] = field(default_factory=list)
    isolation: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        import base64

        data = asdict(self)
        data["figures"] = [base64.b64encode(f).decode("ascii") for f in self.figures]
        return data


@lru_cache(maxsize=1)
def _namespaces_work() -> bool:
    if not shutil.which("unshare"):
        return False
    try:
        return subprocess.run(["unshare", "--net", "--pid", "--fork", "--kill-child", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def isolation_layers() -> list[str]:
    layers = []
    if _namespaces_work():
        layers.append("namespaces")
    if os.geteuid() == 0 and shutil.which("setpriv"):
        layers.append("uid")
    return layers + ["rlimits", "audit-hook", "scrubbed-env", "tempdir"]


@lru_cache(maxsize=1)
def _matplotlib_cache() -> Path | None:
    """Build matplotlib's font cache once, outside the sandbox (trusted code, ~1 s), so each demo
    copies it instead of rebuilding it (which also calls ``fc-list``, a process the sandbox refuses)."""
    cache = Path(tempfile.gettempdir()) / f"courseta-mpl-cache-{os.geteuid()}"
    if not list(cache.glob("fontlist-*.json")):
        cache.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MPLCONFIGDIR": str(cache), "MPLBACKEND": "Agg"}
        try:
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                           capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
    return cache if list(cache.glob("fontlist-*.json")) else None


def _seed_workdir(workdir: str, uid: int | None) -> None:
    mpl_dir = Path(workdir) / ".mpl"
    mpl_dir.mkdir()
    cache = _matplotlib_cache()
    for f in cache.glob("fontlist-*.json") if cache else []:
        shutil.copy(f, mpl_dir / f.name)
    if uid is not None:
        for path in [mpl_dir, *mpl_dir.iterdir()]:
            os.chown(path, uid, uid)


def _scrubbed_env(workdir: str, limits: SandboxLimits) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "MPLCONFIGDIR": os.path.join(workdir, ".mpl"),
        "XDG_CACHE_HOME": os.path.join(workdir, ".cache"),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "SANDBOX_MAX_FIGURES": str(limits.max_figures),
    }


def _limit_child(limits: SandboxLimits):
    import resource

    def apply() -> None:
        mem = limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * 2**20, limits.file_mb * 2**20))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


class _Drain(threading.Thread):
    """Reads a pipe to the end, keeping the first ``cap`` characters."""

    def __init__(self, stream, cap: int):
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.parts: list[bytes] = []
        self.size = 0
        self.truncated = False

    def run(self) -> None:
        byte_cap = self.cap * 4  # utf-8: at most 4 bytes a character
        while chunk := self.stream.read(65536):
            if self.size < byte_cap:
                self.parts.append(chunk[: byte_cap - self.size])
            if self.size + len(chunk) > byte_cap:
                self.truncated = True
            self.size += len(chunk)

    def text(self) -> str:
        text = b"".join(self.parts).decode("utf-8", errors="replace")
        if len(text) > self.cap:
            text, self.truncated = text[: self.cap], True
        if self.truncated:
            text += f"\n… [output truncated at {self.cap} characters]\n"
        return text


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_python(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` in the sandbox and report what happened. Never raises for the demo's faults."""
    limits = limits or SandboxLimits()
    layers = isolation_layers()
    workdir = tempfile.mkdtemp(prefix="courseta-demo-")
    uid = None
    if "uid" in layers:
        uid = SANDBOX_UID_BASE + (os.getpid() + time.monotonic_ns()) % 1000
        os.chown(workdir, uid, uid)
    os.chmod(workdir, 0o700)
    _seed_workdir(workdir, uid)
    cmd = [sys.executable, "-I", "-B", str(CHILD)]
    if uid is not None:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + cmd
    if "namespaces" in layers:
        cmd = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--"] + cmd

    t0 = time.perf_counter()
    timed_out = False
    proc = subprocess.Popen(
        cmd, cwd=workdir, env=_scrubbed_env(workdir, limits), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=_limit_child(limits), close_fds=True,
    )
    out, err = _Drain(proc.stdout, limits.output_chars), _Drain(proc.stderr, limits.output_chars)
    out.start(), err.start()
    try:
        proc.stdin.write(code.encode("utf-8"))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    # Reap with wait4 to learn the CPU time used (a PID-namespace init never receives SIGXCPU,
    # so the exit status alone cannot tell that the CPU limit stopped it).
    deadline = t0 + limits.timeout_s
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            timed_out = True
            _kill_group(proc)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.005)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu_used = usage.ru_utime + usage.ru_stime
    _kill_group(proc)  # whatever the demo left running dies with it
    out.join(timeout=5), err.join(timeout=5)
    duration = time.perf_counter() - t0

    report = {}
    result_file = Path(workdir) / ".sandbox-result.json"
    try:
        report = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {}
    figures = []
    for name in report.get("figures", [])[: limits.max_figures]:
        path = Path(workdir) / ".figures" / Path(name).name
        if path.is_file():
            figures.append(path.read_bytes())
    shutil.rmtree(workdir, ignore_errors=True)

    limits_hit = list(report.get("blocked", []))
    if out.truncated or err.truncated:
        limits_hit.append("output")
    if report.get("figures_skipped"):
        limits_hit.append("figures")
    if report.get("memory_error"):
        limits_hit.append("memory")
    error = report.get("error")
    rc = proc.returncode
    if timed_out:
        limits_hit.append("timeout")
        error = {"type": "TimeoutError", "message": f"the demo ran longer than {limits.timeout_s:g} s and was stopped",
                 "traceback": ""}
    elif not report:
        sig = -rc if rc and rc < 0 else (rc - 128 if rc and rc > 128 else None)
        if sig == signal.SIGXCPU or cpu_used >= limits.cpu_s - 0.05:
            limits_hit.append("cpu")
            message = f"the demo used more than {limits.cpu_s} s of CPU and was stopped"
        elif sig == signal.SIGXFSZ:
            limits_hit.append("file_size")
            message = f"the demo wrote a file larger than {limits.file_mb} MB"
        elif sig:
            message = f"the demo's process crashed ({signal.Signals(sig).name})"
        else:
            message = f"the demo's process exited early (exit status {rc})"
        error = {"type": "SandboxCrash", "message": message, "traceback": ""}
        if not any(k in limits_hit for k in ("cpu", "file_size")) and "MemoryError" in err.text():
            limits_hit.append("memory")
    return SandboxResult(
        ok=error is None,
        stdout=out.text(),
        stderr=err.text(),
        error=error,
        figures=figures,
        duration_s=round(duration, 4),
        timed_out=timed_out,
        limits_hit=sorted(set(limits_hit)),
        isolation=layers,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m agent.sandbox [--json] < code.py``"""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m agent.sandbox", description="Run a Python demo from stdin in the sandbox.")
    parser.add_argument("--json", action="store_true", help="last line printed: one JSON object")
    parser.add_argument("--figures-dir", type=Path, help="also save the figures as PNG files here")
    args = parser.parse_args(argv)
    from settings import SettingsError, get_settings

    try:
        limits = SandboxLimits.from_settings(get_settings().sandbox)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = run_python(sys.stdin.read(), limits)
    if args.figures_dir:
        args.figures_dir.mkdir(parents=True, exist_ok=True)
        for i, png in enumerate(result.figures, start=1):
            (args.figures_dir / f"figure-{i}.png").write_bytes(png)
    if args.json:
        data = result.to_json_dict()
        print(json.dumps({k: data[k] for k in ("ok", "stdout", "stderr", "error", "figures", "timed_out",
                                               "limits_hit", "duration_s", "isolation")}, ensure_ascii=False))
        return 0
    sys.stdout.write(result.stdout)
    if result.stderr:
        sys.stderr.write(result.stderr)
    if result.error:
        print(f"{result.error['type']}: {result.error['message']}", file=sys.stderr)
        if result.error.get("traceback"):
            print(result.error["traceback"], file=sys.stderr)
    print(f"[{'ok' if result.ok else 'failed'} in {result.duration_s:.2f} s; {len(result.figures)} figure(s); "
          f"limits hit: {', '.join(result.limits_hit) or 'none'}; isolation: {', '.join(result.isolation)}]", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
