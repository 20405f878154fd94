"""Runs inside the sandbox process (``python -I -B agent/sandbox_child.py``); never imported by the app.

Reads the demo's code from stdin, installs an audit hook that refuses network, process
creation, signals to other processes and writes outside the working directory, runs the code
with matplotlib on the Agg backend, renders open figures as PNGs in memory (also on
``plt.show()``), and writes one JSON report (figures base64-encoded) to the pipe whose number
is in ``SANDBOX_RESULT_FD``. Nothing is left in files for the parent to open: the parent reads
the pipe only, with a size cap, and checks what it gets (the demo can write to that pipe too).
The hook is a convenience that explains refusals; the boundary is the bubblewrap sandbox.
"""

import base64
import io
import json
import os
import shutil
import sys
import time
import traceback

WORKDIR = os.path.realpath(os.getcwd())
MAX_FIGURES = int(os.environ.get("SANDBOX_MAX_FIGURES", "5"))
RESULT_FD = int(os.environ.pop("SANDBOX_RESULT_FD", "-1"))
MPL_SEED = os.environ.pop("SANDBOX_MPL_SEED", "")

_blocked = []  # what the audit hook refused, reported as limits_hit
_saved_figures = []
_skipped_figures = [0]

_PROCESS_EVENTS = {
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "subprocess.Popen", "pty.spawn", "os.startfile",
}
_NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                   "socket.gethostbyname", "socket.gethostbyaddr", "socket.gethostbyname_ex"}
_SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_ALLOWED_WRITE = ("/dev/null",)


def _inside(path) -> bool:
    try:
        real = os.path.realpath(os.fsdecode(path) if not isinstance(path, int) else "")
    except Exception:
        return False
    return real == WORKDIR or real.startswith(WORKDIR + os.sep) or real in _ALLOWED_WRITE


def _refuse(kind: str, detail: str):
    if kind not in _blocked:
        _blocked.append(kind)
    raise PermissionError(f"sandbox: {detail} is not allowed in code demos")


def _audit(event, args):
    if event in _PROCESS_EVENTS:
        _refuse("process", "starting processes")
    elif event in _NETWORK_EVENTS:
        _refuse("network", "network access")
    elif event in _SIGNAL_EVENTS:
        pid = args[0] if args else None
        if event == "os.kill" and pid == os.getpid():
            return
        _refuse("signal", "signalling other processes")
    elif event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        if path is None or isinstance(path, int):
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing and not _inside(path):
            _refuse("filesystem", f"writing outside the working directory ({os.fsdecode(path)})")
    elif event in ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                   "os.link", "os.truncate", "shutil.rmtree", "os.utime"):
        paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
        if any(not _inside(p) for p in paths):
            _refuse("filesystem", f"changing files outside the working directory ({event})")


def _save_open_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in list(plt.get_fignums()):
        if len(_saved_figures) >= MAX_FIGURES:
            _skipped_figures[0] += 1
        else:
            buffer = io.BytesIO()
            plt.figure(num).savefig(buffer, format="png", dpi=100, bbox_inches="tight")
            _saved_figures.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
        plt.close(num)


class _PyplotHook:
    """Meta-path finder that patches ``plt.show`` when (and only if) the demo imports pyplot,
    so demos that never plot do not pay for importing matplotlib."""

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            module.show = lambda *a, **k: _save_open_figures()

        spec.loader.exec_module = exec_module
        return spec


def _prepare_matplotlib():
    os.environ["MPLBACKEND"] = "Agg"
    config = os.environ.get("MPLCONFIGDIR")
    if MPL_SEED and config and os.path.isdir(MPL_SEED):  # a font list built outside: no rebuild, no fc-list
        os.makedirs(config, exist_ok=True)
        for name in os.listdir(MPL_SEED):
            if name.startswith("fontlist-") and name.endswith(".json"):
                shutil.copy(os.path.join(MPL_SEED, name), config)
    sys.meta_path.insert(0, _PyplotHook())


def _trim_traceback(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<demo>"]
    lines = traceback.format_list(frames[-8:]) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()


def main() -> None:
    code = sys.stdin.read()
    sys.stdin = open(os.devnull)
    _prepare_matplotlib()
    sys.addaudithook(_audit)
    result = {"error": None, "exit_code": 0}
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    t0 = time.perf_counter()
    try:
        exec(compile(code, "<demo>", "exec"), namespace)
    except SystemExit as exc:
        code_ = exc.code
        result["exit_code"] = code_ if isinstance(code_, int) else (0 if code_ is None else 1)
        if code_ not in (None, 0):
            result["error"] = {"type": "SystemExit", "message": str(code_), "traceback": ""}
    except BaseException as exc:  # noqa: BLE001 - everything the demo raises is reported
        result["error"] = {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": _trim_traceback(exc)[:4000]}
    result["run_s"] = round(time.perf_counter() - t0, 4)
    try:
        _save_open_figures()
    except Exception as exc:  # noqa: BLE001
        result.setdefault("notes", []).append(f"could not save figures: {exc}")
    sys.stdout.flush()
    sys.stderr.flush()
    result["figures"] = _saved_figures
    result["figures_skipped"] = _skipped_figures[0]
    result["blocked"] = _blocked
    result["memory_error"] = bool(result["error"] and result["error"]["type"] == "MemoryError")
    data = json.dumps(result).encode("utf-8")
    if RESULT_FD >= 0:
        view = memoryview(data)
        while view:
            view = view[os.write(RESULT_FD, view):]
    os._exit(0)


if __name__ == "__main__":
    main()
