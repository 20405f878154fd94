"""Every hostile demo from the security review, run twice: with the app as root and as an ordinary user.

"root": ``run_python`` in this (root) process, as the app runs in CI and in a container.
"user": the same call from a process that dropped to ``nobody`` with ``setpriv`` (an app run by an
ordinary account); it uses Debian's ``/usr/bin/python3`` because this machine's venv interpreter
lives under ``/root``, which ``nobody`` cannot read. The hostile demos need only the standard library.

Each case first undoes the audit hook (the hook is a convenience, not the boundary), then tries
its attack; the assertions are about the host: nothing read, written, reached, killed or left running.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from agent import sandbox
from agent.sandbox import SandboxLimits, run_python

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = shutil.which("python3.11", path="/usr/bin") or shutil.which("python3", path="/usr/bin")
LIMITS = dict(timeout_s=6, cpu_s=5, memory_mb=512, max_processes=32, file_mb=10)

UNHOOK = """
import sys
main = sys.modules['__main__']
main._inside = lambda p: True
main._PROCESS_EVENTS.clear(); main._NETWORK_EVENTS.clear(); main._SIGNAL_EVENTS.clear()
main._audit = lambda *a: None
"""

MODES = ["root", "user"]
SECCOMP_PROGRAM = sandbox._seccomp_program
try:
    import pyseccomp

    PYSECCOMP_DIR = str(Path(pyseccomp.__file__).parent)
except ImportError:
    PYSECCOMP_DIR = ""


def _run(mode: str, code: str, without_seccomp: bool = False, **limits) -> dict:
    """The result as a dict (figures base64) of running ``code`` with the app in ``mode``;
    ``without_seccomp``: as where libseccomp is missing (what the other layers hold alone)."""
    limits = {**LIMITS, **limits}
    if not shutil.which("bwrap"):
        pytest.fail("bubblewrap is missing: .ci/run installs it (Debian package bubblewrap)")
    if mode == "root" and os.geteuid() != 0:
        pytest.skip("the app-as-root case needs this test run as root (CI is)")
    if mode == "root" or os.geteuid() != 0:  # the app as root, or already an ordinary user: run in-process
        if without_seccomp:
            sandbox.isolation_layers.__globals__["_seccomp_program"] = lambda: None
        try:
            result = asdict(run_python(code, SandboxLimits(**limits)))
        finally:
            sandbox.isolation_layers.__globals__["_seccomp_program"] = SECCOMP_PROGRAM
        result["figures"] = [base64.b64encode(f).decode() for f in result["figures"]]
        return result
    if not (SYSTEM_PYTHON and shutil.which("setpriv")):
        pytest.skip("needs /usr/bin/python3 and setpriv to act as an ordinary user")
    driver = (
        "import base64, json, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        f"sys.path.append({PYSECCOMP_DIR!r})\n"  # the venv's pyseccomp (pure Python), after the system's own
        "from dataclasses import asdict\n"
        "from agent import sandbox\n"
        "from agent.sandbox import SandboxLimits, run_python\n"
        + ("sandbox._seccomp_program = lambda: None\n" if without_seccomp else "") +
        f"r = asdict(run_python(sys.stdin.read(), SandboxLimits(**{limits!r})))\n"
        "r['figures'] = [base64.b64encode(f).decode() for f in r['figures']]\n"
        "print(json.dumps(r))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "")}
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                          SYSTEM_PYTHON, "-c", driver], input=code, capture_output=True, text=True,
                         timeout=120, cwd="/tmp", env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _everything(result: dict) -> str:
    return json.dumps(result)


def _processes_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


@pytest.fixture
def app_files(tmp_path, monkeypatch):
    """What the app owns: stores with every student's chats, a project .env with a key, in its environment too."""
    data = tmp_path / "app-data"
    data.mkdir()
    (data / "conversations.sqlite").write_text("STUDENT-CHAT-SECRET")
    (data / "answers.sqlite").write_text("ANSWER-LOG-SECRET")
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-ENV-FILE-SECRET")
    for p in (tmp_path, data):
        p.chmod(0o755)
    for p in data.iterdir():
        p.chmod(0o644)  # even world-readable files must stay out of the demo's view
    (tmp_path / ".env").chmod(0o644)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-PROCESS-ENV-SECRET")
    return tmp_path


@pytest.mark.parametrize("mode", MODES)
def test_isolation_is_reported(mode):
    result = _run(mode, "print('hi')")
    assert result["ok"] and result["stdout"] == "hi\n"
    assert "bwrap" in result["isolation"]
    if mode == "root":
        assert "uid" in result["isolation"]
    if sandbox._seccomp_program() is not None or os.environ.get("CI"):  # CI installs libseccomp2 + pyseccomp
        assert "seccomp" in result["isolation"]


@pytest.mark.parametrize("mode", MODES)
def test_forged_results_and_links_never_reach_the_parent(mode):
    """Symlinks to /etc/shadow named like figures, a forged report on every fd, a FIFO and /dev/zero."""
    code = UNHOOK + """
import os, json, base64
os.makedirs('.figures', exist_ok=True)
for target, name in [('/etc/shadow', '.figures/figure-1.png'), ('/dev/zero', '.sandbox-result.json')]:
    try: os.symlink(target, name)
    except OSError: pass
try: os.mkfifo('.sandbox-result.fifo')
except OSError: pass
forged = json.dumps({"figures": [base64.b64encode(b"root:x:0:0 not a png").decode()], "error": None}).encode()
for fd in range(3, 64):
    try: os.write(fd, forged)
    except OSError: pass
os._exit(0)
"""
    t0 = time.monotonic()
    result = _run(mode, code)
    assert time.monotonic() - t0 < 30  # the parent never blocked on a FIFO or read /dev/zero
    assert all(base64.b64decode(f).startswith(b"\x89PNG") for f in result["figures"])
    assert "root:x" not in _everything(result)


@pytest.mark.parametrize("mode", MODES)
def test_the_apps_files_secrets_and_processes_are_out_of_reach(mode, app_files):
    code = UNHOOK + f"""
import os, glob
found = []
for path in [{str(app_files / 'app-data' / 'conversations.sqlite')!r}, {str(app_files / 'app-data' / 'answers.sqlite')!r},
             {str(app_files / '.env')!r}, '/etc/shadow', '/etc/passwd', {str(REPO / 'settings.py')!r}]:
    try:
        found.append(open(path).read()[:200])
    except OSError as exc:
        found.append(type(exc).__name__)
for environ in glob.glob('/proc/*/environ'):
    try: found.append(open(environ, 'rb').read().decode('latin-1'))
    except OSError: pass
found.append('ppid=%d' % os.getppid())
print(found)
"""
    result = _run(mode, code)
    text = _everything(result)
    for secret in ("STUDENT-CHAT-SECRET", "ANSWER-LOG-SECRET", "sk-ENV-FILE-SECRET", "sk-PROCESS-ENV-SECRET",
                   "root:", "class RetrievalSettings"):
        assert secret not in text, secret


@pytest.mark.parametrize("mode", MODES)
def test_no_signal_reaches_the_app_and_no_daemon_survives(mode, tmp_path):
    marker = f"courseta-daemon-{os.getpid()}-{mode}"
    code = UNHOOK + f"""
import os, signal, time
for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
    if int(pid) != os.getpid():
        try: os.kill(int(pid), signal.SIGKILL)
        except OSError: pass
try: os.kill({os.getpid()}, signal.SIGKILL)
except OSError as exc: print('kill app:', type(exc).__name__)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv('/usr/bin/sleep', ['sleep', '300', {marker!r}]) if os.path.exists('/usr/bin/sleep') else time.sleep(300)
    os._exit(0)
print('forked')
"""
    result = _run(mode, code)
    assert "forked" in result["stdout"], result
    time.sleep(0.5)
    assert _processes_with(marker) == []
    # and we are alive to assert it (the kills could not see the app's processes)


@pytest.mark.parametrize("mode", MODES)
def test_no_network_not_even_the_hosts_loopback(mode):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    code = UNHOOK + f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2); print('CONNECTED')
except OSError as exc:
    print('refused', type(exc).__name__)
"""
    try:
        result = _run(mode, code)
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()
    assert "CONNECTED" not in result["stdout"] and "refused" in result["stdout"]


@pytest.mark.parametrize("mode", MODES)
def test_nothing_written_outlives_the_demo_and_disk_is_capped(mode, app_files):
    tag = f"courseta-left-{os.getpid()}-{mode}"
    target = app_files / "app-data" / "answers.sqlite"
    code = UNHOOK + f"""
import os
for d in ['/tmp', '/var/tmp', '/dev/shm', '.']:
    try:
        with open(os.path.join(d, {tag!r}), 'w') as fh: fh.write('x')
    except OSError as exc:
        print('write', d, type(exc).__name__)
try:
    open({str(target)!r}, 'w').write('OVERWRITTEN')
except OSError as exc:
    print('overwrite', type(exc).__name__)
for d in ['/dev/shm', '.']:
    try:
        with open(os.path.join(d, 'big'), 'wb') as fh:
            for _ in range(300): fh.write(b'x' * 2**20)
        print('wrote 300 MB in', d)
    except OSError as exc:
        print('big', d, type(exc).__name__)
"""
    result = _run(mode, code)
    assert "wrote 300 MB" not in result["stdout"], result["stdout"]
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not (Path(d) / tag).exists(), d
    assert target.read_text() == "ANSWER-LOG-SECRET"


@pytest.mark.parametrize("mode", MODES)
def test_output_printed_before_a_timeout_is_kept(mode):
    result = _run(mode, "print('partial result', flush=False)\nwhile True: pass", timeout_s=2, cpu_s=10)
    assert result["timed_out"] and "partial result" in result["stdout"]


@pytest.mark.parametrize("mode", MODES)
def test_memory_of_all_processes_together_is_capped(mode):
    """Forked children each holding memory: the cgroup caps their sum where the app may create one."""
    code = UNHOOK + """
import os, time
kids = []
for i in range(6):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(300 * 2**20)
            for j in range(0, len(block), 4096): block[j] = 1
            time.sleep(1.5)
            os._exit(0)
        except MemoryError:
            os._exit(3)
    kids.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids]
print('all held' if codes == [0] * 6 else 'capped %s' % codes)
"""
    result = _run(mode, code, memory_mb=512, timeout_s=15)
    if "cgroup" not in result["isolation"]:
        pytest.skip("no cgroup this app may create here: the per-process cap × process cap is the fallback")
    assert "all held" not in result["stdout"], result


def test_fifo_or_symlink_in_the_old_result_place_cannot_block_the_weak_mode(monkeypatch):
    """Even without bubblewrap (the weak mode) the parent reads only the pipe."""
    monkeypatch.setattr(sandbox, "isolation_layers", lambda: ["rlimits", "audit-hook", "scrubbed-env"])
    code = UNHOOK + "import os\nos.mkfifo('.sandbox-result.json')\nos.symlink('/dev/zero', '.x')\nos._exit(0)"
    t0 = time.monotonic()
    result = run_python(code, SandboxLimits(timeout_s=4, cpu_s=3, require_isolation=False))
    assert time.monotonic() - t0 < 10 and not result.ok


def test_an_interpreter_under_tmp_is_bound_above_the_private_tmp(monkeypatch):
    """A CI clone's venv lives under /tmp: its bind must come after (on top of) the demo's own /tmp."""
    monkeypatch.setattr(sys, "prefix", "/tmp/ci-clone/.venv")
    args = sandbox._bwrap_base()
    tmpfs = next(i for i in range(len(args) - 1) if args[i] == "--tmpfs" and args[i + 1] == "/tmp")
    bind = next(i for i in range(len(args) - 2) if args[i] == "--ro-bind" and args[i + 1] == "/tmp/ci-clone/.venv")
    assert tmpfs < bind
    assert ["--perms", "0755", "--dir", "/tmp/ci-clone"] == args[bind - 4: bind]


SECCOMP_PROBES = UNHOOK + """
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    ctypes.set_errno(0)
    r = getattr(libc, name)(*args)
    return 'ok' if r >= 0 else os.strerror(ctypes.get_errno())
print('ptrace', call('ptrace', 16, 1, 0, 0))           # PTRACE_ATTACH to the sandbox's init
print('unshare', call('unshare', 0x10000000))          # a new user namespace
print('add_key', call('syscall', {add_key}, b'user', b'k', b'v', 1, 0xfffffffd))  # the session keyring
pid = os.fork()
if pid == 0:
    os._exit(7)
print('fork', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print('subprocess', subprocess.run(['/usr/bin/true']).returncode)
"""


@pytest.mark.parametrize("mode", MODES)
def test_seccomp_refuses_tracing_keyrings_and_namespaces_but_not_processes(mode):
    if os.uname().machine != "x86_64":
        pytest.skip("the probe uses x86_64 syscall numbers")
    result = _run(mode, SECCOMP_PROBES.format(add_key=248))
    if "seccomp" not in result["isolation"]:
        pytest.skip("no libseccomp here (CI installs it)")
    out = result["stdout"]
    assert "ptrace Operation not permitted" in out and "unshare Operation not permitted" in out, result
    assert "add_key Operation not permitted" in out, result
    assert "fork 7" in out and "subprocess 0" in out, result


# The review's escape (user mode, before seccomp): attach to the sandbox's init (PID 1, the app's own
# uid there), make it clear its parent-death signal, keep the demo alive past the timeout. The
# namespace must still die at the timeout, and run_python must return.
INIT_TAKEOVER = UNHOOK + r"""
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in ('r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi '
                                                 'orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs').split()]
def pt(req, addr=0, data=0):
    return libc.ptrace(req, 1, ctypes.c_void_p(addr), ctypes.c_void_p(data) if isinstance(data, int) else data)
if pt(16) == 0:
    os.waitpid(1, 0x40000000)
    saved = Regs(); pt(12, 0, ctypes.byref(saved))
    word = pt(1, saved.rip) & 0xffffffffffffffff
    pt(4, saved.rip, (word & ~0xffffff) | 0xcc050f)
    regs = Regs.from_buffer_copy(saved)
    regs.rax, regs.rdi, regs.rsi, regs.orig_rax = 157, 1, 0, 0xffffffffffffffff   # prctl(PR_SET_PDEATHSIG, 0)
    pt(13, 0, ctypes.byref(regs)); pt(7); os.waitpid(1, 0x40000000)
    after = Regs(); pt(12, 0, ctypes.byref(after))
    print('init taken over: prctl', ctypes.c_longlong(after.rax).value, flush=True)
    pt(4, saved.rip, word); pt(13, 0, ctypes.byref(saved)); pt(17)
else:
    print('attach refused', flush=True)
if os.fork() == 0:
    os.execv('/usr/bin/sleep', ['sleep', '300', MARKER])
while True:
    time.sleep(1000)
"""


@pytest.mark.parametrize("without_seccomp", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_a_demo_that_takes_over_the_sandboxs_init_still_dies_at_the_timeout(mode, without_seccomp):
    if os.uname().machine != "x86_64":
        pytest.skip("the takeover uses x86_64 registers")
    marker = f"courseta-init-takeover-{os.getpid()}-{mode}-{without_seccomp}"
    t0 = time.monotonic()
    result = _run(mode, INIT_TAKEOVER.replace("MARKER", repr(marker)), without_seccomp=without_seccomp,
                  timeout_s=4)
    assert time.monotonic() - t0 < 60 and result["timed_out"], result
    if mode == "root" or not without_seccomp:
        assert "attach refused" in result["stdout"], result  # root's init / seccomp: no ptrace at all
    time.sleep(0.5)
    left = _processes_with(marker)
    for pid in left:  # never leave them running, even when the test fails
        try:
            os.kill(int(pid), 9)
        except OSError:
            pass
    assert left == [], result


# --- a second review (2026-12-05) ------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_the_sandbox_root_and_its_proc_are_read_only(mode):
    """As an ordinary user bwrap's own root tmpfs belonged to the demo's uid with no size cap (540 MB
    of host memory written to /), and /proc/1/mem of the sandbox's init opened for writing let a demo
    clear its die-with-parent and outlive the app. Both are read-only mounts now."""
    code = UNHOOK + """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for path, flags in ((b"/proc/1/mem", os.O_RDWR), (b"/big", os.O_WRONLY | os.O_CREAT), (b"/etc/x", os.O_WRONLY | os.O_CREAT),
                    (b"/tmp/ok", os.O_WRONLY | os.O_CREAT)):
    fd = libc.open(path, flags, 0o644)
    print(path.decode(), fd >= 0)
"""
    result = _run(mode, code)
    assert result["stdout"].split() == ["/proc/1/mem", "False", "/big", "False", "/etc/x", "False", "/tmp/ok", "True"]


@pytest.mark.parametrize("mode", MODES)
def test_an_exit_status_that_is_no_signal_is_a_clean_crash(mode):
    result = _run(mode, "import os; os._exit(200)")  # read as signal 72: run_python raised ValueError
    assert result["error"]["type"] == "SandboxCrash" and "72" in result["error"]["message"]


def test_code_that_is_not_valid_text_starts_nothing():
    before = len(_processes_with("sandbox_child.py"))
    result = run_python("print(1)\n# \udcff")  # a lone surrogate: raised after bwrap had started, which then waited
    assert result.error["type"] == "SyntaxError" and "nothing was run" in result.error["message"]
    assert len(_processes_with("sandbox_child.py")) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder another user owns needs root")
def test_a_matplotlib_cache_folder_someone_else_made_is_not_used(tmp_path, monkeypatch):
    """A local user who made the app's predictable cache folder first, with a symlink to a root-only
    file in it, had the app chmod that file world-readable."""
    shared = tmp_path / "tmp"
    shared.mkdir(mode=0o1777)
    shared.chmod(0o1777)
    secret = tmp_path / "secret"
    secret.write_text("root only")
    secret.chmod(0o600)
    planted = shared / f"courseta-mpl-cache-{os.geteuid()}"
    planted.mkdir()
    (planted / "fontlist-v390.json").symlink_to(secret)
    os.chown(planted, 65534, 65534)
    monkeypatch.setattr(sandbox.tempfile, "gettempdir", lambda: str(shared))
    sandbox._matplotlib_cache.cache_clear()
    try:
        cache = sandbox._matplotlib_cache()
    finally:
        sandbox._matplotlib_cache.cache_clear()
    assert cache != planted
    assert secret.stat().st_mode & 0o777 == 0o600
