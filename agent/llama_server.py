"""llama.cpp's OpenAI-compatible server (``llama-server``) for a GGUF model: start it, wait, stop it.

This is how the packaged 0.5B writer is served to the ``openai:`` backend, the way a course serves a
real model with vLLM: the app only talks HTTP to ``/v1/chat/completions``. The tests start one on a
free port of 127.0.0.1; ``make serve-llm`` starts one for the app::

    python -m agent.llama_server [--port 8080] [--host 127.0.0.1] [--parallel 2]
    COURSETA_LLM=openai:qwen2.5-coder-0.5b COURSETA_LLM_BASE_URL=http://127.0.0.1:8080/v1 make run

The binary is built from pinned source by ``make llama-server`` (scripts/build_llama_server.sh) into
the venv's ``bin/``. The model file is the hash-verified join of the packaged chunks
(agent/packaged_models.py). The server runs with ``--jinja`` and the chat template in
prompts/qwen2.5-coder-tools.jinja (Qwen2.5's, with tool calls as the bare JSON the 0.5B model
writes), from which llama.cpp derives its tool-call parser; and with none of llama-server's built-in agent tools: its
environment is cleared of ``LLAMA_ARG_*`` variables, which could otherwise switch them on.

>>> server = LlamaServer(binary=Path("llama-server"), model=Path("m.gguf"), port=8080, threads=2, parallel=2)
>>> " ".join(server.command()[1:9])
'--model m.gguf --alias qwen2.5-coder-0.5b --host 127.0.0.1 --port 8080'
>>> server.base_url
'http://127.0.0.1:8080/v1'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import ModelError

DEFAULT_ALIAS = "qwen2.5-coder-0.5b"
# Qwen2.5's template with tool calls as bare JSON, which is what the 0.5B model writes (the file says why)
QWEN_TOOLS_TEMPLATE = Path(__file__).resolve().parent.parent / "prompts" / "qwen2.5-coder-tools.jinja"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
BUILD_HINT = "build it with `make llama-server` (scripts/build_llama_server.sh)"


def find_binary() -> Path | None:
    """``llama-server`` next to this interpreter (the venv's bin/, where ``make llama-server`` puts it), else on PATH."""
    beside = Path(sys.executable).parent / "llama-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("llama-server")
    return Path(found) if found else None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class LlamaServer:
    """One ``llama-server`` process serving ``model`` under the name ``alias``.

    ``port=0`` picks a free port at :meth:`start`. ``parallel`` is the number of requests decoded at
    once (slots); the context is split between them, so each gets ``context // parallel`` tokens.
    """

    binary: Path
    model: Path
    alias: str = DEFAULT_ALIAS
    host: str = "127.0.0.1"
    port: int = 0
    context: int = 8192
    parallel: int = 1
    threads: int | None = None
    chat_template: Path | None = None  # a Jinja chat template file instead of the model's own
    api_key: str = ""  # required for any host but loopback
    log_path: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        cmd = [str(self.binary), "--model", str(self.model), "--alias", self.alias, "--host", self.host,
               "--port", str(self.port), "--ctx-size", str(self.context), "--parallel", str(self.parallel),
               "--jinja", "--no-webui"]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if self.chat_template:
            cmd += ["--chat-template-file", str(self.chat_template)]
        if self.api_key:
            cmd += ["--api-key", self.api_key]
        return cmd

    def start(self, timeout_s: float = 120.0) -> "LlamaServer":
        """Start the process and wait until ``/health`` answers 200; a server that exits or stays
        unready raises :class:`ModelError` with the end of its log."""
        if not Path(self.binary).is_file():
            raise ModelError(f"llama-server not found at {self.binary}; {BUILD_HINT}")
        if self.host not in LOOPBACK and not self.api_key:
            raise ModelError(f"llama-server on {self.host} would be open to the network: give it an api_key "
                             "(then COURSETA_LLM_API_KEY), or serve on 127.0.0.1")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        pick_port = not self.port
        for attempt in range(3 if pick_port else 1):
            if pick_port:
                self.port = free_port(self.host)
            try:
                if self._launch(timeout_s):
                    return self
            except BaseException:
                self.stop()  # Ctrl-C while it starts: no server left behind
                raise
            if not pick_port or "bind" not in self.log_tail(20).lower():
                break  # another program took the free port between picking and binding: try another one
        raise ModelError(f"llama-server exited with code {self.process.returncode}: {self.log_tail()}")

    def _launch(self, timeout_s: float) -> bool:
        """Start the process and wait for /health; False when it exited, ModelError when it stays unready."""
        # a clean environment: none of the app's secrets, and no LLAMA_* variable (LLAMA_ARG_TOOLS would
        # switch on its built-in shell and file tools)
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.healthy():
                return True
            time.sleep(0.2)
        self.stop()
        raise ModelError(f"llama-server did not become ready in {timeout_s:.0f} s: {self.log_tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.port}/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests: the server dies mid-answer)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(Path(self.log_path).read_text(errors="replace").strip().splitlines()[-lines:])
        except (OSError, TypeError):
            return "(no log)"

    def __enter__(self) -> "LlamaServer":
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def packaged_server(models_dir: Path, **options) -> LlamaServer:
    """A server (not started) for the packaged Qwen2.5-Coder-0.5B, verified and joined into ``models_dir``."""
    from agent.packaged_models import QWEN_CODER_05B, assemble

    binary = find_binary()
    if binary is None:
        raise ModelError(f"llama-server is not installed; {BUILD_HINT}")
    options.setdefault("chat_template", QWEN_TOOLS_TEMPLATE)
    return LlamaServer(binary=binary, model=assemble(QWEN_CODER_05B, models_dir), **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.llama_server",
                                     description="Serve the packaged 0.5B model over an OpenAI-compatible API.")
    parser.add_argument("--host", default="127.0.0.1", help="other than loopback only with LLAMA_API_KEY set")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--parallel", type=int, default=1, help="requests decoded at once")
    parser.add_argument("--context", type=int, default=8192, help="context tokens, shared by the parallel slots")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--models-dir", type=Path, default=None, help="where the joined GGUF file is kept")
    args = parser.parse_args(argv)
    from settings import get_settings

    models_dir = args.models_dir or get_settings().retrieval.data_dir / "models"
    try:
        server = packaged_server(models_dir, host=args.host, port=args.port, parallel=args.parallel,
                                 context=args.context, threads=args.threads, api_key=os.environ.get("LLAMA_API_KEY", ""))
        server.start()
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(json.dumps({"base_url": server.base_url, "model": server.alias, "log": str(server.log_path)}), flush=True)
    print(f"COURSETA_LLM=openai:{server.alias} COURSETA_LLM_BASE_URL={server.base_url} make run", flush=True)
    try:
        code = server.process.wait()
    except KeyboardInterrupt:
        code = 0  # stopped by the user: a normal end
    finally:
        server.stop()
    return code if code > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
