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
   Its root and ``/proc`` are remounted read-only (:data:`READ_ONLY_AFTER`): as an ordinary user,
   bwrap's root tmpfs was the demo's own and uncapped, and ``/proc/1/mem`` of its init writable.
2. ``uid`` (when the app runs as root): inside the sandbox the demo drops to a throwaway uid
   (61000–61999) with no capabilities and ``no_new_privs``, so the process cap counts its
   processes only.
3. ``cgroup`` (where the app may create cgroups, v2 or v1 memory+pids): one cap on the memory
   and the number of processes of the whole demo, all its processes together. Elsewhere the
   documented fallback is per-process address space × the process cap.
4. ``seccomp`` (with bubblewrap, where libseccomp is installed): the demo cannot call ``ptrace``,
   the kernel keyring (``keyctl``, ``add_key``), new namespaces (``unshare``, ``setns``,
   ``clone`` with ``CLONE_NEWUSER``), ``mount``, ``bpf``, ``io_uring``, ``perf_event_open``,
   ``userfaultfd`` or the module and reboot calls: without it, a demo of an app running as an
   ordinary user could attach to the sandbox's own init and make it outlive the app.
5. always: a scrubbed environment (no API keys, tokens or app settings), rlimits (CPU seconds,
   address space, file size, processes, no core dumps), a wall-clock timeout that kills it all,
   unbuffered output (what was printed before a timeout is kept) and an audit hook that explains
   refusals (a convenience, not a boundary: the demo can undo it).

Results come back over a pipe (JSON, figures as base64 PNG), read with a size cap and checked
(each field capped, a figure refused unless its PNG header says at most 4096 x 4096 pixels and it
is at most 1 MiB); the parent never opens a path the demo could have prepared. At the end, and at
the timeout, the sandbox's whole PID namespace is killed through its init's pidfd (bwrap
``--info-fd``), so nothing the demo started outlives it. Without bubblewrap nothing runs
unless ``sandbox_require_isolation`` is switched off (then only layer 5, the cgroup where one can be
made, and a temp dir remain).
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import select
import struct
import shutil
import stat
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
FIGURE_MAX_BYTES = 2**20  # one figure's PNG; a matplotlib plot at dpi 100 is 20-150 KB
FIGURE_MAX_SIDE = 4096  # pixels: the page decodes and scales every figure it shows
ERROR_MAX_CHARS = {"type": 100, "message": 2_000, "traceback": 20_000}
BLOCKED_MAX_CHARS = 300

log = logging.getLogger("courseta.agent")


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


def _interpreter() -> str:
    """The interpreter as the sandbox sees it: ``sys.executable`` under its prefix's real path. The
    sandbox binds the prefixes' real paths (:func:`_read_only_view`), so a virtual environment reached
    through a link (``.venv -> /srv/venv``) is not at ``sys.executable`` there; started from its real
    folder, Python still finds the environment's ``pyvenv.cfg`` next to it. (A hostile test found demos
    switched off, "they need bubblewrap", on a machine where bubblewrap worked.) An interpreter outside its
    prefix (a link in ``~/bin``) is started from its own real path, whose folder the sandbox binds.
    """
    if not sys.executable:
        return sys.executable
    inside = os.path.relpath(sys.executable, sys.prefix)
    if inside.startswith(".."):
        return os.path.realpath(sys.executable)
    return os.path.join(os.path.realpath(sys.prefix), inside)


@lru_cache(maxsize=1)
def _bwrap_works() -> bool:
    if not shutil.which("bwrap"):
        return False
    info_r, info_w = os.pipe()
    try:
        probe = subprocess.Popen(_bwrap_base() + ["--info-fd", str(info_w), "--", _interpreter(), "-I", "-c", "pass"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(info_w,))
    except OSError:
        return False
    finally:
        os.close(info_w)
    init = _sandbox_init(info_r, time.perf_counter() + 30)
    os.close(info_r)
    try:
        ok = probe.wait(timeout=30) == 0
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.wait()
        ok = False
    if init is not None:
        _kill_sandbox(init)
        _reap_orphaned_init(init)  # as after each demo: no zombie left to a subreaper
        os.close(init)
    return ok


# What a demo may not call (EPERM; clone3 ENOSYS, so that the C library falls back to clone, whose
# flags the filter can read): tracing and reading other processes, the kernel keyring, new
# namespaces, mounts, and kernel interfaces a demo never needs (a large attack surface).
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "keyctl", "add_key", "request_key",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen",
    "fsmount", "fsconfig", "fspick", "mount_setattr",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "syslog", "personality",
)
CLONE_NEWUSER = 0x10000000


@lru_cache(maxsize=1)
def _seccomp_program() -> bytes | None:
    """The demo's seccomp filter as a BPF program for bwrap's ``--seccomp`` (libseccomp through
    pyseccomp compiles it for this machine's architecture; other architectures' calls are killed),
    or None when libseccomp is not installed."""
    try:
        import pyseccomp as seccomp

        flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):  # a call this architecture does not have
                continue
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        flt.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
        with tempfile.TemporaryFile() as fh:
            flt.export_bpf(fh)
            fh.seek(0)
            return fh.read() or None
    except Exception as exc:  # noqa: BLE001 - no libseccomp, an old one: run without this layer
        log.info("no seccomp filter for code demos (%s: %s)", type(exc).__name__, exc)
        return None


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
        if _seccomp_program() is not None:
            layers.append("seccomp")
    if _cgroup_kind():
        layers.append("cgroup")
    return layers + ["rlimits", "audit-hook", "scrubbed-env"]


@lru_cache(maxsize=1)
def _matplotlib_cache() -> Path | None:
    """Build matplotlib's font cache once, outside the sandbox (trusted code, ~1 s), so each demo
    copies it instead of rebuilding it (which also calls ``fc-list``, a process the sandbox refuses)."""
    cache = _private_folder(Path(tempfile.gettempdir()) / f"courseta-mpl-cache-{os.geteuid()}")
    if not list(cache.glob("fontlist-*.json")):
        env = {**os.environ, "MPLCONFIGDIR": str(cache), "MPLBACKEND": "Agg"}
        try:
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                           capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
    cache.chmod(0o755)  # the demo's throwaway uid reads it (a list of font files, nothing secret)
    for f in cache.glob("fontlist-*.json"):
        if not f.is_symlink():  # (no one else writes here: _private_folder)
            f.chmod(0o644)
    return cache if list(cache.glob("fontlist-*.json")) else None


def _private_folder(path: Path) -> Path:
    """``path`` when it is a folder of this user's that no one else may write to (made here if missing),
    else a new private one: a local user who made ``/tmp/courseta-mpl-cache-0`` first, with a symlink to
    a root-only file in it, had the app make that file world-readable (a hostile test's case)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return Path(tempfile.mkdtemp(prefix="courseta-mpl-cache-"))
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022:
        return path
    log.warning("%s is not a private folder of this user's; using a new one", path)
    return Path(tempfile.mkdtemp(prefix="courseta-mpl-cache-"))


def _signal_name(number: int) -> str:
    """A signal's name; an exit status above 128 that is no signal (``os._exit(200)``) as its number.

    >>> _signal_name(9), _signal_name(72)
    ('SIGKILL', 'signal or exit status 72')
    """
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal or exit status {number}"


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


def _tasks_of_this_user() -> int:
    """How many tasks (threads included) this process's real uid has now: the kernel counts all of them
    against ``RLIMIT_NPROC``, the app's own threads and other demos too."""
    uid, count = str(os.getuid()), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as fh:
                fields = dict(line.split(b":", 1) for line in fh.read().splitlines() if b":" in line)
            if fields.get(b"Uid", b"").split()[:1] == [uid.encode()]:
                count += int(fields.get(b"Threads", b"1").strip() or 1)
        except (OSError, ValueError):
            continue
    return count


def _limit_child(limits: SandboxLimits, cgroup: "_DemoCgroup | None"):
    import resource

    # As root the demo runs as its own throwaway uid (layer "uid"), which the cap counts alone. As an
    # ordinary user it shares the app's uid: the cap is what the user has now plus the demo's share,
    # or the app's threads alone (70 of them) would leave a demo none.
    nproc = limits.max_processes if os.geteuid() == 0 else _tasks_of_this_user() + limits.max_processes
    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    if hard != resource.RLIM_INFINITY:
        nproc = min(nproc, hard)  # a soft limit above the hard one is refused (and no demo would start)

    def apply() -> None:
        if cgroup is not None:
            cgroup.enter()
        mem = limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * 2**20, limits.file_mb * 2**20))
        # root (bwrap as root) is exempt; the demo's throwaway uid after setpriv is counted
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


class _Drain(threading.Thread):
    """Reads a pipe (a file descriptor, unbuffered: no lock another thread could wait on) to its end,
    keeping the first ``cap`` characters (``byte_cap`` bytes: ``cap`` x 4 unless given)."""

    def __init__(self, fd: int, cap: int, byte_cap: int | None = None):
        super().__init__(daemon=True)
        self.fd, self.cap = fd, cap
        self.byte_cap = byte_cap if byte_cap is not None else cap * 4  # utf-8: at most 4 bytes a character
        self.parts: list[bytes] = []
        self.size = 0
        self.truncated = False

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                if self.size < self.byte_cap:
                    self.parts.append(chunk[: self.byte_cap - self.size])
                if self.size + len(chunk) > self.byte_cap:
                    self.truncated = True
                self.size += len(chunk)
        except OSError:
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


_LEFT_OPEN: list = []  # pipes a drain thread still reads (the weak mode's daemons): kept, not closed


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _sandbox_init(info_fd: int, deadline: float) -> int | None:
    """A pidfd of the sandbox's init (PID 1 of its namespace), from what bwrap writes to ``--info-fd``
    (``{"child-pid": N}``); None when bwrap wrote nothing by ``deadline`` or it ended first. Killing
    that process kills every process of the namespace, whatever the demo did to its own parentage
    or to the init's death signal."""
    data = b""
    poller = select.poll()  # not select(): a busy app's descriptors may be numbered past 1023
    poller.register(info_fd, select.POLLIN)
    while b"}" not in data:
        wait = deadline - time.perf_counter()
        if wait <= 0 or not poller.poll(wait * 1000):
            return None
        chunk = os.read(info_fd, 4096)
        if not chunk:
            break
        data += chunk
    try:
        pid = int(json.loads(data.decode("utf-8"))["child-pid"])
        return os.pidfd_open(pid)
    except (ValueError, KeyError, TypeError, OSError):
        return None


def _kill_sandbox(pidfd: int | None) -> None:
    if pidfd is None:
        return
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _reap(proc: subprocess.Popen, grace_s: float):
    """``os.wait4`` of bwrap after the demo's namespace was killed: it ends on its own within
    ``grace_s``, else its process group is killed. (bwrap often exits before reaping the namespace's
    init: :func:`_reap_orphaned_init` takes care of that one.)"""
    end = time.perf_counter() + grace_s
    while time.perf_counter() < end:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        time.sleep(0.005)
    _kill_group(proc)
    return os.wait4(proc.pid, 0)


def _reap_orphaned_init(pidfd: int) -> None:
    """bwrap may exit before it reaps the namespace's init; the init is then reparented to a subreaper
    or to PID 1 — this app, when it is PID 1 of a container — and would stay a zombie: reap it when
    it is ours (it was killed, so within moments)."""
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        try:
            if os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG) is not None:
                return
        except (ChildProcessError, OSError):  # not our child: bwrap reaped it, or init will
            return
        time.sleep(0.005)


def png_size(png: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, or None when it does not start as a PNG does.

    >>> png_size(PNG_MAGIC + struct.pack(">I4sII", 13, b"IHDR", 640, 480) + bytes(5))
    (640, 480)
    >>> png_size(PNG_MAGIC + b"not an image") is None
    True
    """
    if len(png) < 24 or not png.startswith(PNG_MAGIC) or png[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", png[16:24])


def _text(value, limit: int) -> str:
    """A string from the demo's report, capped, without lone surrogates (JSON allows them; a page cannot
    show them)."""
    return value[:limit].encode("utf-8", "replace").decode("utf-8")


def _checked_report(raw: bytes, limits: SandboxLimits) -> tuple[dict, list[bytes]]:
    """The child's report, or {} when it is missing or malformed (the demo may have written it): every
    field checked and capped, figures only PNGs of at most ``FIGURE_MAX_SIDE`` pixels a side and
    ``FIGURE_MAX_BYTES`` (``figures_skipped`` says some were refused).

    >>> _checked_report(b'{"error": {}}', SandboxLimits())[0]["error"]
    {'type': 'Error', 'message': '', 'traceback': ''}
    >>> _checked_report(b"[" * 100_000, SandboxLimits())
    ({}, [])
    """
    if not raw:
        return {}, []
    try:
        report = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}, []
    if not isinstance(report, dict):
        return {}, []
    figures, refused = [], 0
    for item in report.get("figures", []) if isinstance(report.get("figures"), list) else []:
        if len(figures) >= limits.max_figures or not isinstance(item, str) or len(item) > FIGURE_MAX_BYTES * 4 // 3 + 4:
            refused += 1
            continue
        try:
            png = base64.b64decode(item, validate=True)
        except ValueError:
            refused += 1
            continue
        size = png_size(png)
        if size and 0 < size[0] <= FIGURE_MAX_SIDE and 0 < size[1] <= FIGURE_MAX_SIDE and len(png) <= FIGURE_MAX_BYTES:
            figures.append(png)
        else:
            refused += 1
    error = report.get("error")
    if error is not None:
        if isinstance(error, dict) and all(isinstance(error.get(k, ""), str) for k in ERROR_MAX_CHARS):
            error = {k: _text(error.get(k, ""), cap) for k, cap in ERROR_MAX_CHARS.items()}
            error["type"] = error["type"] or "Error"
        else:
            error = {"type": "SandboxError", "message": "the demo's report was malformed", "traceback": ""}
    blocked = [_text(b, BLOCKED_MAX_CHARS) for b in report.get("blocked", []) if isinstance(b, str)][:10] \
        if isinstance(report.get("blocked"), list) else []
    clean = {"error": error, "blocked": blocked, "figures_skipped": bool(report.get("figures_skipped")) or refused > 0,
             "memory_error": bool(report.get("memory_error")), "ok": True}
    return clean, figures


def _command(layers: list[str], limits: SandboxLimits, env: dict[str, str], mpl_seed: Path | None,
             info_fd: int | None = None, seccomp_fd: int | None = None) -> list[str]:
    if "bwrap" not in layers:
        return [sys.executable, "-I", "-B", "-u", str(CHILD)]
    python = [_interpreter(), "-I", "-B", "-u"]
    cmd = _bwrap_base(limits.file_mb * 2**20 * 4)  # the demo's disk: its folder, /tmp and /dev/shm, each capped
    if info_fd is not None:
        cmd += ["--info-fd", str(info_fd)]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", "/opt/courseta",
            "--ro-bind", str(CHILD), CHILD_IN_SANDBOX]
    if mpl_seed is not None:
        cmd += ["--ro-bind", str(mpl_seed), MPL_SEED_IN_SANDBOX]
    cmd += [*READ_ONLY_AFTER, "--chdir", SANDBOX_CWD, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd.append("--")
    if "uid" in layers:
        uid = SANDBOX_UID_BASE + (os.getpid() + time.monotonic_ns()) % 1000
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--bounding-set=-all",
                "--inh-caps=-all", "--no-new-privs", "--"]
    return cmd + python + [CHILD_IN_SANDBOX]


# Made read-only once every mount is in place (the last mount arguments): as an ordinary user bwrap's
# own root tmpfs belongs to the demo's uid, with no size cap (a demo wrote 540 MB of host memory to /),
# and the demo could open the sandbox init's /proc/1/mem for writing (same uid, no Yama) and clear its
# die-with-parent, outliving the app. The scratch tmpfs mounts stay writable; /proc stays readable.
READ_ONLY_AFTER = ("--remount-ro", "/", "--remount-ro", "/proc")


def run_python(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` in the sandbox and report what happened. Never raises for the demo's faults.

    Without bubblewrap the result is an error and nothing runs, unless ``limits.require_isolation`` is False.
    """
    limits = limits or SandboxLimits()
    try:
        source = code.encode("utf-8")  # before anything starts: a lone surrogate raised with a sandbox running
    except UnicodeEncodeError:
        return SandboxResult(ok=False, stdout="", stderr="", error={
            "type": "SyntaxError", "traceback": "",
            "message": "the code holds characters that are not valid text (a lone surrogate); nothing was run"})
    layers = isolation_layers()
    if "bwrap" not in layers and limits.require_isolation:
        return SandboxResult(ok=False, stdout="", stderr="", isolation=layers, error={
            "type": "SandboxUnavailable", "traceback": "",
            "message": ("code demos are switched off here: bubblewrap is installed but could not start a sandbox "
                        "(are user namespaces allowed?); nothing was run" if shutil.which("bwrap") else
                        "code demos are switched off here: they need bubblewrap (Debian package `bubblewrap`) "
                        "with user namespaces allowed; nothing was run")})
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
    info_r = info_w = seccomp_fd = None
    if "bwrap" in layers:
        info_r, info_w = os.pipe()
        if "seccomp" in layers:
            seccomp_fd = os.memfd_create("courseta-seccomp", 0)
            os.write(seccomp_fd, _seccomp_program())
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
    extra_fds = tuple(fd for fd in (info_w, seccomp_fd) if fd is not None)
    cmd = _command(layers, limits, env, mpl_seed, info_w, seccomp_fd)

    t0 = time.perf_counter()
    timed_out = False
    try:
        proc = subprocess.Popen(
            cmd, cwd=hostdir or "/", env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=_limit_child(limits, cgroup), close_fds=True,
            pass_fds=(result_w, *extra_fds),
        )
    except BaseException:
        for fd in (result_r, info_r):
            if fd is not None:
                os.close(fd)
        if cgroup:
            cgroup.remove()
        raise
    finally:
        for fd in (result_w, *extra_fds):
            os.close(fd)
    out, err = _Drain(proc.stdout.fileno(), limits.output_chars), _Drain(proc.stderr.fileno(), limits.output_chars)
    # PNGs as base64 + a small JSON with capped fields
    rep = _Drain(result_r, 0, byte_cap=limits.max_figures * (FIGURE_MAX_BYTES * 4 // 3 + 8) + 2**20)
    out.start(), err.start(), rep.start()
    deadline = t0 + limits.timeout_s
    sandbox_init = None
    if info_r is not None:
        sandbox_init = _sandbox_init(info_r, deadline)
        os.close(info_r)
    try:
        proc.stdin.write(source)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    # Reap with wait4 to learn the CPU time used (a PID-namespace init never receives SIGXCPU,
    # so the exit status alone cannot tell that the CPU limit stopped it).
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            timed_out = True
            _kill_sandbox(sandbox_init)  # every process of the demo's namespace; bwrap then ends too
            pid, status, usage = _reap(proc, grace_s=2.0 if sandbox_init is not None else 0.0)
            break
        time.sleep(0.005)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu_used = usage.ru_utime + usage.ru_stime
    # whatever the demo left running dies with it: its namespace (through the init), and bwrap's group
    _kill_sandbox(sandbox_init)
    _kill_group(proc)
    if sandbox_init is not None:
        _reap_orphaned_init(sandbox_init)
        os.close(sandbox_init)
    for drain in (out, err, rep):
        drain.join(timeout=5)
    if any(drain.is_alive() for drain in (out, err, rep)):
        # a writer outlived the kill (cannot happen with the namespace killed): leave the pipes to their
        # threads rather than wait on them
        log.warning("a code demo's output pipe stayed open after it was stopped; not waiting for it")
        _LEFT_OPEN.append((proc, result_r))  # its descriptors stay open (never reused under the thread)
        del _LEFT_OPEN[:-64]
    else:
        os.close(result_r)
        proc.stdout.close(), proc.stderr.close()
    duration = time.perf_counter() - t0
    oom = cgroup.oom_killed() if cgroup else False
    if cgroup:
        cgroup.remove()
    if hostdir:
        shutil.rmtree(hostdir, ignore_errors=True)

    raw_report = rep.data()
    report, figures = ({}, []) if rep.truncated else _checked_report(raw_report, limits)
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
            message = f"the demo's process crashed ({_signal_name(sig)})"
        elif raw_report or rep.truncated:
            # processes forked past the audit hook (ctypes' fork) each wrote a report into the one channel,
            # or the demo wrote into it: "exited early (exit status 0)" said nothing of why
            message = ("the demo's result could not be read: its code wrote into the result channel or started "
                       "processes of its own, which demos may not do")
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
