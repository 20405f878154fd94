"""Run a small Python demo in an isolated, limited process and collect its output and figures.

>>> r = run_python("import math\\nprint(round(-sum(p * math.log2(p) for p in [0.5, 0.25, 0.25]), 3))")
>>> r.ok, r.stdout
(True, '1.5\\n')
>>> run_python("while True: pass", SandboxLimits(timeout_s=1)).timed_out
True

Isolation (``isolation_layers()`` says which are active; the CLI and the app's trace show it):

1. ``bwrap`` (bubblewrap): new mount, PID, network, IPC and UTS namespaces (and a user
   namespace when the app is not root). The demo sees a read-only view of only ``/usr`` and the
   Python interpreter and libraries it needs; its own size-capped empty working directory,
   ``/tmp`` and ``/dev/shm`` (tmpfs, gone when it ends); a fresh ``/proc`` in which the app's
   processes do not exist; no network interface but its own loopback; and it dies with the app.
   The app's data, corpus, code, ``.env`` and other users' chats are not in its view at all.
2. ``uid`` (when the app runs as root): inside the sandbox the demo drops to a throwaway uid
   (61000–61999) with no capabilities and ``no_new_privs``, so the process cap counts its
   processes only.
3. ``cgroup`` (where the app may create cgroups, v2 or v1 memory+pids): one cap on the memory
   and the number of processes of the whole demo, all its processes together. Elsewhere the
   documented fallback is per-process address space × the process cap.
4. always: a scrubbed environment (no API keys, tokens or app settings), rlimits (CPU seconds,
   address space, file size, processes, no core dumps), a wall-clock timeout that kills it all,
   unbuffered output (what was printed before a timeout is kept) and an audit hook that explains
   refusals (a convenience, not a boundary: the demo can undo it).

Results come back over a pipe (JSON, figures as base64 PNG), read with a size cap and checked;
the parent never opens a path the demo could have prepared. Without bubblewrap nothing runs
unless ``sandbox_require_isolation`` is switched off (then only layer 4 and a temp dir remain).
"""

from __future__ import annotations

import base64
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
    require_isolation: bool = True  # False: without bubblewrap, run with rlimits + the audit hook only

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
            require_isolation=settings.sandbox_require_isolation,
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


SANDBOX_CWD = "/sandbox"  # the demo's working directory inside bubblewrap (a tmpfs)
CHILD_IN_SANDBOX = "/opt/courseta/sandbox_child.py"
MPL_SEED_IN_SANDBOX = "/opt/courseta/mpl-cache"
CGROUP_PARENT = "courseta-demos"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SandboxUnavailable(RuntimeError):
    """No isolation strong enough to run hostile code here (and the weak mode is not allowed)."""


SCRATCH = (SANDBOX_CWD, "/tmp", "/dev/shm")  # the demo's writable places: private, size-capped tmpfs


def _bwrap_base(scratch_bytes: int = 64 * 2**20) -> list[str]:
    """bubblewrap's namespaces, a fresh /proc and /dev, the scratch tmpfs, then the read-only view.

    The view comes after the tmpfs mounts so that an interpreter under /tmp (a CI clone's venv)
    is bound on top of the private /tmp rather than hidden by it.
    """
    namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        namespaces = ["--unshare-user"] + namespaces + ["--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
    args = ["bwrap", *namespaces, "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--proc", "/proc", "--dev", "/dev"]
    for path in SCRATCH:
        args += ["--perms", "0777" if path == SANDBOX_CWD else "01777", "--size", str(scratch_bytes), "--tmpfs", path]
    return args + _read_only_view()


def _read_only_view() -> list[str]:
    """``/usr`` (with the merged-/usr links) and the interpreter's prefixes, read-only; parent folders 0755."""
    args = ["--ro-bind", "/usr", "/usr"]
    bound = {"/usr"}  # read-only binds: whatever lies below them is visible already
    made = {"/", "/proc", "/dev", *SCRATCH}  # folders that exist in the sandbox already
    for link in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        path = Path("/") / link
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
            bound.add(str(path))
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)))}
    for root in sorted(roots):
        if any(root == b or root.startswith(b + "/") for b in bound):
            continue
        for parent in reversed(Path(root).parents):  # bwrap would create missing parents 0700
            if str(parent) not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        args += ["--ro-bind", root, root]
        bound.add(root)
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


@lru_cache(maxsize=1)
def _bwrap_works() -> bool:
    if not shutil.which("bwrap"):
        return False
    try:
        probe = subprocess.run(_bwrap_base() + ["--", sys.executable, "-I", "-c", "pass"],
                               capture_output=True, timeout=30)
        return probe.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _cgroup_kind() -> str | None:
    """'v2' or 'v1' when this process may create a demo cgroup with memory and pids limits, else None."""
    root = Path("/sys/fs/cgroup")
    try:
        if (root / "cgroup.controllers").is_file():
            ok = {"memory", "pids"} <= set((root / "cgroup.controllers").read_text().split())
            return "v2" if ok and os.access(root, os.W_OK) else None
        if (root / "memory" / "cgroup.procs").is_file() and (root / "pids" / "cgroup.procs").is_file():
            return "v1" if os.access(root / "memory", os.W_OK) and os.access(root / "pids", os.W_OK) else None
    except OSError:
        return None
    return None


class _DemoCgroup:
    """A cgroup for one demo: all its processes together get ``memory_mb`` and ``max_processes``."""

    def __init__(self, kind: str, memory_mb: int, max_processes: int):
        name = f"demo-{os.getpid()}-{time.monotonic_ns()}"
        root = Path("/sys/fs/cgroup")
        self.dirs: list[Path] = []
        if kind == "v2":
            parent = root / CGROUP_PARENT
            parent.mkdir(exist_ok=True)
            (root / "cgroup.subtree_control").write_text("+memory +pids")
            (parent / "cgroup.subtree_control").write_text("+memory +pids")
            demo = parent / name
            demo.mkdir()
            self.dirs = [demo]
            (demo / "memory.max").write_text(str(memory_mb * 2**20))
            (demo / "memory.swap.max").write_text("0") if (demo / "memory.swap.max").exists() else None
            (demo / "pids.max").write_text(str(max_processes))
        else:
            mem, pids = root / "memory" / CGROUP_PARENT / name, root / "pids" / CGROUP_PARENT / name
            mem.mkdir(parents=True)
            pids.mkdir(parents=True)
            self.dirs = [mem, pids]
            (mem / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
            (pids / "pids.max").write_text(str(max_processes))

    def enter(self) -> None:
        """Called in the child before exec: it and everything it starts are counted here."""
        for d in self.dirs:
            with open(d / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def oom_killed(self) -> bool:
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    text = (d / name).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    key, _, value = line.partition(" ")
                    if key in ("oom_kill", "oom_kill_disable") and key == "oom_kill" and value.strip() not in ("", "0"):
                        return True
        return False

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):  # the kernel frees it a moment after the last process is reaped
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


def isolation_layers() -> list[str]:
    layers = []
    if _bwrap_works():
        layers.append("bwrap")
        if os.geteuid() == 0 and shutil.which("setpriv"):
            layers.append("uid")
    if _cgroup_kind():
        layers.append("cgroup")
    return layers + ["rlimits", "audit-hook", "scrubbed-env"]


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
    cache.chmod(0o755)  # the demo's throwaway uid reads it (a list of font files, nothing secret)
    for f in cache.glob("fontlist-*.json"):
        f.chmod(0o644)
    return cache if list(cache.glob("fontlist-*.json")) else None


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
        "PYTHONUNBUFFERED": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "SANDBOX_MAX_FIGURES": str(limits.max_figures),
    }


def _limit_child(limits: SandboxLimits, cgroup: "_DemoCgroup | None"):
    import resource

    def apply() -> None:
        if cgroup is not None:
            cgroup.enter()
        mem = limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * 2**20, limits.file_mb * 2**20))
        # root (bwrap as root) is exempt; the demo's throwaway uid after setpriv is counted
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
        try:
            while chunk := self.stream.read(65536):
                if self.size < byte_cap:
                    self.parts.append(chunk[: byte_cap - self.size])
                if self.size + len(chunk) > byte_cap:
                    self.truncated = True
                self.size += len(chunk)
        except (OSError, ValueError):
            pass

    def data(self) -> bytes:
        return b"".join(self.parts)

    def text(self) -> str:
        text = self.data().decode("utf-8", errors="replace")
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


def _checked_report(raw: bytes, limits: SandboxLimits) -> tuple[dict, list[bytes]]:
    """The child's report, or {} when it is missing or malformed (the demo may have written it)."""
    if not raw:
        return {}, []
    try:
        report = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}, []
    if not isinstance(report, dict):
        return {}, []
    figures = []
    for item in report.get("figures", []) if isinstance(report.get("figures"), list) else []:
        if len(figures) >= limits.max_figures or not isinstance(item, str):
            continue
        try:
            png = base64.b64decode(item, validate=True)
        except ValueError:
            continue
        if png.startswith(PNG_MAGIC):
            figures.append(png)
    error = report.get("error")
    if error is not None and not (isinstance(error, dict) and all(isinstance(error.get(k, ""), str)
                                                                   for k in ("type", "message", "traceback"))):
        error = {"type": "SandboxError", "message": "the demo's report was malformed", "traceback": ""}
    blocked = [b for b in report.get("blocked", []) if isinstance(b, str)][:10] \
        if isinstance(report.get("blocked"), list) else []
    clean = {"error": error, "blocked": blocked, "figures_skipped": bool(report.get("figures_skipped")),
             "memory_error": bool(report.get("memory_error")), "ok": True}
    return clean, figures


def _command(layers: list[str], limits: SandboxLimits, env: dict[str, str], mpl_seed: Path | None) -> list[str]:
    python = [sys.executable, "-I", "-B", "-u"]
    if "bwrap" not in layers:
        return python + [str(CHILD)]
    cmd = _bwrap_base(limits.file_mb * 2**20 * 4)  # the demo's disk: its folder, /tmp and /dev/shm, each capped
    cmd += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", "/opt/courseta",
            "--ro-bind", str(CHILD), CHILD_IN_SANDBOX]
    if mpl_seed is not None:
        cmd += ["--ro-bind", str(mpl_seed), MPL_SEED_IN_SANDBOX]
    cmd += ["--chdir", SANDBOX_CWD, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd.append("--")
    if "uid" in layers:
        uid = SANDBOX_UID_BASE + (os.getpid() + time.monotonic_ns()) % 1000
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--bounding-set=-all",
                "--inh-caps=-all", "--no-new-privs", "--"]
    return cmd + python + [CHILD_IN_SANDBOX]


def run_python(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` in the sandbox and report what happened. Never raises for the demo's faults.

    Without bubblewrap the result is an error and nothing runs, unless ``limits.require_isolation`` is False.
    """
    limits = limits or SandboxLimits()
    layers = isolation_layers()
    if "bwrap" not in layers and limits.require_isolation:
        return SandboxResult(ok=False, stdout="", stderr="", isolation=layers, error={
            "type": "SandboxUnavailable", "traceback": "",
            "message": "code demos are switched off here: they need bubblewrap (Debian package `bubblewrap`) "
                       "with user namespaces allowed; nothing was run"})
    hostdir = None
    if "bwrap" in layers:
        workdir = SANDBOX_CWD
    else:  # the weak mode: a private folder on the host, removed afterwards (rmtree follows no links)
        hostdir = workdir = tempfile.mkdtemp(prefix="courseta-demo-")
        os.chmod(workdir, 0o700)
    env = _scrubbed_env(workdir, limits)
    mpl_seed = _matplotlib_cache()
    if "bwrap" in layers:
        env["SANDBOX_MPL_SEED"] = MPL_SEED_IN_SANDBOX if mpl_seed else ""
    elif mpl_seed:
        env["SANDBOX_MPL_SEED"] = str(mpl_seed)
    cgroup = None
    if "cgroup" in layers:
        try:
            cgroup = _DemoCgroup(_cgroup_kind(), limits.memory_mb, limits.max_processes)
        except OSError:
            layers = [layer for layer in layers if layer != "cgroup"]
    result_r, result_w = os.pipe()
    env["SANDBOX_RESULT_FD"] = str(result_w)
    cmd = _command(layers, limits, env, mpl_seed)

    t0 = time.perf_counter()
    timed_out = False
    try:
        proc = subprocess.Popen(
            cmd, cwd=hostdir or "/", env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=_limit_child(limits, cgroup), close_fds=True, pass_fds=(result_w,),
        )
    finally:
        os.close(result_w)
    report_pipe = os.fdopen(result_r, "rb")
    out, err = _Drain(proc.stdout, limits.output_chars), _Drain(proc.stderr, limits.output_chars)
    rep = _Drain(report_pipe, (limits.max_figures + 1) * 2**20)  # PNGs as base64 + a small JSON
    out.start(), err.start(), rep.start()
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
    _kill_group(proc)  # whatever the demo left running dies with it (and with bwrap's PID namespace)
    for drain in (out, err, rep):
        drain.join(timeout=5)
    report_pipe.close()
    duration = time.perf_counter() - t0
    oom = cgroup.oom_killed() if cgroup else False
    if cgroup:
        cgroup.remove()
    if hostdir:
        shutil.rmtree(hostdir, ignore_errors=True)

    report, figures = ({}, []) if rep.truncated else _checked_report(rep.data(), limits)
    limits_hit = list(report.get("blocked", []))
    if out.truncated or err.truncated:
        limits_hit.append("output")
    if report.get("figures_skipped"):
        limits_hit.append("figures")
    if report.get("memory_error") or oom:
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
        elif oom:
            message = f"the demo used more than {limits.memory_mb} MB of memory and was stopped"
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
