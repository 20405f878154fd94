#!/usr/bin/env bash
# Build llama.cpp's OpenAI-compatible server and install it as <venv>/bin/llama-server.
#
#   bash scripts/build_llama_server.sh [VENV]        (what `make llama-server` runs)
#
# The source is the llama.cpp tree vendored in the llama-cpp-python sdist pinned, with its sha256,
# in requirements-llama-server.txt (checked below before anything is unpacked). Only the `llama-server` target is built:
# CPU backend, no web UI (nothing is fetched at build time), no HTTPS, static libraries, -march=native
# (the binary is for this machine, like the venv it goes into), but never ggml's AMX kernels: on an
# Intel Xeon with AMX (2026-12-05) this version's ggml_backend_amx_mul_mat crashed the server
# (SIGSEGV) at its first decode of the Q4_K_M model; without them the other repacked CPU kernels
# (AVX-512 where there is AVX-512) serve it. About 6 minutes on 2 cores.
set -euo pipefail
venv="${1:-.venv}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${LLAMA_SERVER_BUILD_DIR:-$here/build/llama-server}"
jobs="$(nproc 2>/dev/null || echo 2)"

# Fetch the pinned sdist from the package index's simple API (PEP 503) and check its sha256 here:
# `pip download` would run the sdist's build backend, unpinned, just to read its metadata.
rm -rf "$work/dist" && mkdir -p "$work/dist"
version="$(sed -n 's/^llama-cpp-python==\([0-9.]*\).*/\1/p' "$here/requirements-llama-server.txt")"
sha256="$(sed -n 's/.*--hash=sha256:\([0-9a-f]\{64\}\).*/\1/p' "$here/requirements-llama-server.txt")"
sdist="$work/dist/llama_cpp_python-$version.tar.gz"
"$venv/bin/python" - "$version" "$sha256" "$sdist" <<'PY'
import hashlib, os, re, sys, urllib.request
version, sha256, target = sys.argv[1:]
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
page = urllib.request.urlopen(f"{index}/llama-cpp-python/", timeout=60).read().decode()
name = f"llama_cpp_python-{version}.tar.gz"
urls = [u for u in re.findall(r'href="([^"]+)"', page) if u.split("#")[0].endswith("/" + name)]
if not urls:
    sys.exit(f"{name} is not on {index}")
data = urllib.request.urlopen(urllib.request.urljoin(f"{index}/llama-cpp-python/", urls[0].split("#")[0]), timeout=600).read()
if hashlib.sha256(data).hexdigest() != sha256:
    sys.exit(f"{name} has sha256 {hashlib.sha256(data).hexdigest()}, not the pinned {sha256}: refusing to build it")
open(target, "wb").write(data)
PY
rm -rf "$work/src" && mkdir -p "$work/src"
# -march=native would turn AMX on where the CPU has it; an explicit -mno-* wins over -march in GCC and
# Clang whatever the order (x86 only: other compilers' targets do not know these flags)
no_amx=""
case "$(uname -m)" in x86_64|amd64) no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" ;; esac
tar -xzf "$sdist" -C "$work/src" --strip-components=1
cmake -S "$work/src/vendor/llama.cpp" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_CCACHE=OFF \
    -DCMAKE_C_FLAGS="$no_amx" -DCMAKE_CXX_FLAGS="$no_amx" \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF >"$work/configure.log"
cmake --build "$work/cmake" --target llama-server -j "$jobs" >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log"; exit 1; }
install -m 0755 "$work/cmake/bin/llama-server" "$venv/bin/llama-server"
"$venv/bin/llama-server" --version 2>&1 | head -n 2
