#!/usr/bin/env bash
# Build llama.cpp's OpenAI-compatible server and install it as <venv>/bin/llama-server.
#
#   bash scripts/build_llama_server.sh [VENV]        (what `make llama-server` runs)
#
# The source is the llama.cpp tree vendored in the llama-cpp-python sdist pinned, with its sha256,
# in requirements-llama-server.txt (pip checks the hash). Only the `llama-server` target is built:
# CPU backend, no web UI (nothing is fetched at build time), no HTTPS, static libraries, -march=native
# (the binary is for this machine, like the venv it goes into). About 10 minutes on 2 cores.
set -euo pipefail
venv="${1:-.venv}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${LLAMA_SERVER_BUILD_DIR:-$here/build/llama-server}"
jobs="$(nproc 2>/dev/null || echo 2)"

mkdir -p "$work/dist"
"$venv/bin/python" -m pip download -q --no-deps --no-binary :all: --require-hashes \
    -r "$here/requirements-llama-server.txt" -d "$work/dist"
sdist="$(ls "$work"/dist/llama_cpp_python-*.tar.gz | head -n1)"
rm -rf "$work/src" && mkdir -p "$work/src"
tar -xzf "$sdist" -C "$work/src" --strip-components=1
cmake -S "$work/src/vendor/llama.cpp" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_CCACHE=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF >"$work/configure.log"
cmake --build "$work/cmake" --target llama-server -j "$jobs" >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log"; exit 1; }
install -m 0755 "$work/cmake/bin/llama-server" "$venv/bin/llama-server"
"$venv/bin/llama-server" --version 2>&1 | head -n 2
