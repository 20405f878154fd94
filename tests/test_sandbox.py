"""The code-demo sandbox against hostile code: each case is contained, reported, and leaves no process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent import sandbox
from agent.sandbox import SandboxLimits, run_python

REPO = Path(__file__).resolve().parent.parent
FAST = SandboxLimits(timeout_s=4, cpu_s=3)

HEART = """
import matplotlib.pyplot as plt
import numpy as np
t = np.linspace(0, 2 * np.pi, 1000)
x = 16 * np.sin(t) ** 3
y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
plt.plot(x, y, color="red")
plt.axis("off")
plt.show()
"""


def _sandbox_processes() -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "sandbox_child.py" in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


@pytest.fixture(autouse=True)
def no_process_left_behind():
    yield
    assert _sandbox_processes() == []


def test_happy_path_heart_plot_returns_one_png():
    result = run_python(HEART)
    assert result.ok, result.error
    assert len(result.figures) == 1 and result.figures[0][:8] == b"\x89PNG\r\n\x1a\n"
    assert result.limits_hit == [] and not result.timed_out


def test_figures_are_captured_on_show_even_when_closed_after():
    code = HEART + "plt.close('all')\nplt.figure(); plt.plot([1, 2]); plt.show(); plt.close()\n"
    assert len(run_python(code).figures) == 2


def test_figure_limit():
    code = "import matplotlib.pyplot as plt\nfor i in range(4):\n    plt.figure(); plt.plot([i])\n"
    result = run_python(code, SandboxLimits(max_figures=2))
    assert len(result.figures) == 2 and "figures" in result.limits_hit


def test_stdout_stderr_and_errors_are_reported():
    result = run_python("import sys\nprint('熵 = 1.5')\nprint('warn', file=sys.stderr)\n1/0\n")
    assert not result.ok
    assert result.stdout == "熵 = 1.5\n" and result.stderr == "warn\n"
    assert result.error["type"] == "ZeroDivisionError"
    assert '<demo>", line 4' in result.error["traceback"]


def test_missing_module_is_a_clear_error():
    result = run_python("import surely_not_installed_module")
    assert result.error["type"] == "ModuleNotFoundError"
    assert "surely_not_installed_module" in result.error["message"]


def test_infinite_loop_times_out():
    result = run_python("while True:\n    pass\n", SandboxLimits(timeout_s=1.5, cpu_s=30))
    assert result.timed_out and "timeout" in result.limits_hit and result.error["type"] == "TimeoutError"
    assert result.duration_s < 5


def test_cpu_limit():
    result = run_python("while True:\n    pass\n", SandboxLimits(timeout_s=10, cpu_s=1))
    assert not result.ok and "cpu" in result.limits_hit and not result.timed_out


def test_memory_bomb():
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(20 * 2**20))\n"
    result = run_python(code, SandboxLimits(timeout_s=20, cpu_s=15, memory_mb=256))
    assert not result.ok and "memory" in result.limits_hit


def test_fork_bomb():
    result = run_python("import os\nwhile True:\n    os.fork()\n", FAST)
    assert not result.ok and "process" in result.limits_hit


def test_processes_forked_past_the_audit_hook_are_reported_for_what_they_did():
    """Forks through ctypes pass the audit hook; each process then wrote a report into the one result
    channel, and the demo was reported to have "exited early (exit status 0)" (a review's finding)."""
    code = "import ctypes\nlibc = ctypes.CDLL(None)\nfor _ in range(3):\n    libc.fork()\nprint('done')\n"
    result = run_python(code, FAST)
    assert not result.ok and "exit status" not in result.error["message"], result.error
    assert "started processes of its own" in result.error["message"]


@pytest.mark.parametrize("code", [
    "import os\nos.system('echo pwned > /tmp/courseta-pwned')",
    "import subprocess\nsubprocess.run(['echo', 'hi'])",
    "import os\nos.execv('/bin/echo', ['echo'])",
])
def test_shell_and_subprocess_are_refused(code):
    result = run_python(code, FAST)
    assert not result.ok and "process" in result.limits_hit
    assert result.error["type"] == "PermissionError"
    assert not Path("/tmp/courseta-pwned").exists()


def test_socket_connect_to_localhost_is_refused():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        code = f"import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('127.0.0.1', {port}))\nprint('connected')"
        result = run_python(code, FAST)
    finally:
        server.close()
    assert not result.ok and "connected" not in result.stdout and "network" in result.limits_hit


def test_environment_is_scrubbed(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    monkeypatch.setenv("COURSETA_SANDBOX_TIMEOUT_S", "10")
    result = run_python("import os\nprint(dict(os.environ))", FAST)
    assert result.ok
    assert "sk-secret-123" not in result.stdout and "COURSETA" not in result.stdout and "OPENAI" not in result.stdout


def test_writing_outside_the_temp_dir_is_refused(tmp_path):
    target = tmp_path / "outside.txt"
    code = f"open({str(target)!r}, 'w').write('x')"
    result = run_python(code, FAST)
    assert not result.ok and "filesystem" in result.limits_hit and not target.exists()
    # inside the working directory is fine, and the directory is gone afterwards
    result = run_python("import os\nopen('notes.txt', 'w').write('ok')\nprint(os.getcwd())", FAST)
    assert result.ok and not Path(result.stdout.strip()).exists()


def test_huge_stdout_is_truncated():
    result = run_python("import sys\nsys.stdout.write('x' * (100 * 2**20))", SandboxLimits(timeout_s=30, output_chars=1000))
    assert "output" in result.limits_hit
    assert len(result.stdout) < 1200 and "truncated" in result.stdout


def test_sys_exit_is_reported():
    assert run_python("import sys\nsys.exit(0)", FAST).ok
    result = run_python("import sys\nsys.exit(3)", FAST)
    assert not result.ok and result.error["type"] == "SystemExit" and result.error["message"] == "3"


def test_signalling_the_parent_is_refused():
    code = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)"
    result = run_python(code, FAST)
    assert not result.ok and "signal" in result.limits_hit
    assert run_python("print('still alive')", FAST).stdout == "still alive\n"  # and the caller keeps working


def test_deep_recursion_is_contained():
    code = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)"
    result = run_python(code, SandboxLimits(timeout_s=4, cpu_s=3, memory_mb=512))
    assert not result.ok
    assert result.error["type"] in {"RecursionError", "MemoryError", "SandboxCrash", "TimeoutError"}


def test_c_level_crash_is_reported():
    result = run_python("import ctypes\nctypes.string_at(0)", FAST)
    assert not result.ok and result.error["type"] == "SandboxCrash" and "SIGSEGV" in result.error["message"]


def test_audit_hook_alone_contains_the_basics(monkeypatch):
    """Where namespaces and a separate uid are unavailable, the audit hook still refuses these."""
    monkeypatch.setattr(sandbox, "isolation_layers", lambda: ["rlimits", "audit-hook", "scrubbed-env", "tempdir"])
    refused = run_python("print('ran')", FAST)
    assert not refused.ok and refused.stdout == "" and "bubblewrap" in refused.error["message"]
    weak = SandboxLimits(timeout_s=4, cpu_s=3, require_isolation=False)
    for code, kind in [
        ("import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)", "network"),
        ("import subprocess\nsubprocess.run(['true'])", "process"),
        ("open('/tmp/courseta-outside', 'w')", "filesystem"),
    ]:
        result = run_python(code, weak)
        assert result.isolation == ["rlimits", "audit-hook", "scrubbed-env", "tempdir"]
        assert kind in result.limits_hit, (code, result)
    assert not Path("/tmp/courseta-outside").exists()


def test_cli_json_contract(tmp_path):
    out = subprocess.run([sys.executable, "-m", "agent.sandbox", "--json"], input=HEART, capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(data) >= {"ok", "stdout", "stderr", "error", "figures", "timed_out", "limits_hit", "duration_s"}
    assert data["ok"] and len(data["figures"]) == 1
    out = subprocess.run([sys.executable, "-m", "agent.sandbox"], input="print(1/0)", capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert out.returncode == 1 and "ZeroDivisionError" in out.stderr and "Traceback (most recent" not in out.stderr


def test_the_report_is_checked_field_by_field():
    """What a demo can write as its report (the review's cases): every field capped, no lone surrogate
    (json allows "\\ud800"; a page cannot encode it), figures only small PNGs."""
    import base64
    import json
    import struct

    from agent.sandbox import FIGURE_MAX_BYTES, PNG_MAGIC, SandboxLimits, _checked_report

    def png(w, h, extra=b""):
        return base64.b64encode(PNG_MAGIC + struct.pack(">I4sII", 13, b"IHDR", w, h) + bytes(5) + extra).decode()

    raw = json.dumps({"error": {"type": "ValueError", "message": "\ud800" + "m" * 50_000, "traceback": "t" * 10**6},
                      "blocked": ["b" * 5000, 7, "ok"],
                      "figures": [png(640, 480), png(13000, 13000), png(64, 0), "not base64!",
                                  png(64, 64, bytes(FIGURE_MAX_BYTES))]}).encode()
    report, figures = _checked_report(raw, SandboxLimits())
    error = report["error"]
    assert error["type"] == "ValueError" and len(error["message"]) == 2000 and len(error["traceback"]) == 20_000
    error["message"].encode("utf-8")  # no lone surrogate left
    assert [len(b) for b in report["blocked"]] == [300, 2]
    assert len(figures) == 1 and report["figures_skipped"]  # only the 640 x 480 one
    assert _checked_report(b'{"error": {"traceback": "x"}}', SandboxLimits())[0]["error"]["type"] == "Error"
    assert _checked_report(b'{"error": {"type": 3}}', SandboxLimits())[0]["error"]["type"] == "SandboxError"
    assert _checked_report(b"[" * 200_000, SandboxLimits()) == ({}, [])


def test_a_lone_surrogate_in_the_demos_exception_reaches_the_page_as_text():
    result = run_python("raise ValueError(chr(0xD800) + 'bad')")
    assert result.error["type"] == "ValueError" and result.error["message"].endswith("bad")
    result.error["message"].encode("utf-8")


def test_no_zombie_is_left_to_an_app_that_reaps_orphans():
    """An app that is PID 1 of a container (or a subreaper) inherits bwrap's namespace init when bwrap
    exits before reaping it: run_python reaps it, and the bwrap check's too."""
    script = f"""
import ctypes, os, sys, time
sys.path.insert(0, {str(REPO)!r})
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
from agent.sandbox import SandboxLimits, run_python
for code in ["print(1)", "print(2)", "while True: pass"]:
    run_python(code, SandboxLimits(timeout_s=1.5))
time.sleep(0.5)
kids = []
for p in filter(str.isdigit, os.listdir('/proc')):
    try:
        stat = open(f'/proc/{{p}}/stat').read()
        if int(stat[stat.rfind(')') + 2:].split()[1]) == os.getpid():
            kids.append(stat[stat.rfind(')') + 2])
    except OSError:
        pass
print('children', kids)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "children []", out.stdout


def test_an_environment_reached_through_a_link_still_runs_demos_isolated(tmp_path):
    """A hostile test's finding: with the app started as ``.venv/bin/python`` where ``.venv`` is a link,
    bubblewrap was found "missing" (the sandbox binds the prefix's real path, and the link's path to the
    interpreter did not exist inside it) and demos were switched off."""
    if "bwrap" not in sandbox.isolation_layers():
        pytest.skip("no working bubblewrap here")
    linked = tmp_path / "venv-link"
    linked.symlink_to(os.path.realpath(sys.prefix), target_is_directory=True)
    python = linked / os.path.relpath(sys.executable, sys.prefix)
    out = subprocess.run([str(python), "-m", "agent.sandbox", "--json"], input="print(6 * 7)", capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["ok"] and data["stdout"].strip() == "42", data
    assert "bwrap" in data["isolation"]
