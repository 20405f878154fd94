"""Each benchmark runs in its CI-sized mode and prints one JSON object as its last line."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_sandbox_startup_smoke():
    out = subprocess.run([sys.executable, "bench/sandbox_startup.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["bench"] == "sandbox_startup" and data["startup_ms_p50"] > 0


def test_search_smoke():
    out = subprocess.run([sys.executable, "bench/search.py", "--smoke"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    row = data["rows"][0]
    assert data["bench"] == "search"
    by_index = {v["index"]: v for v in row["cpu"]}
    assert by_index["flat"]["recall_at_10"] == 1.0 and by_index["flat"]["ms_p50"] > 0
    assert by_index["hnsw"]["recall_at_10"] > 0.5 and "ivf" in by_index
    assert row["cpu_best_at_recall_95"]["recall_at_10"] >= 0.95


def test_embed_smoke():
    out = subprocess.run([sys.executable, "bench/embed.py", "--smoke"], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    row = data["rows"][0]
    assert data["bench"] == "embed" and row["device"] == "cpu" and row["chunks"] == 48
    assert row["naive_chunks_per_s"] > 0 and row["fast_chunks_per_s"] > 0
    assert row["max_abs_diff"] < 1e-4  # the fast path computes the same vectors


def test_embed_gpu_sweep_smoke():
    out = subprocess.run([sys.executable, "bench/embed_gpu_sweep.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["bench"] == "embed_gpu_sweep" and data["device"] == "cpu" and data["chunks"] == 32
    assert set(data["chunks_per_s"]) == {"tokenize", "model_autocast_fp16", "fast_default"}
    assert all(v > 0 for v in data["chunks_per_s"].values())


def test_writer_throughput_smoke():
    out = subprocess.run([sys.executable, "bench/writer_throughput.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    row = data["rows"][0]
    assert data["bench"] == "writer_throughput" and row["model"] == "tiny" and row["device"] == "cpu"
    assert row["tokens_min"] == row["new_tokens"] == 8  # generation forced to the full length
    assert row["first_token_s_p50"] > 0 and row["tokens_per_s_p50"] > 0


def test_e2e_smoke():
    out = subprocess.run([sys.executable, "bench/e2e.py", "--smoke"], capture_output=True, text=True, cwd=REPO, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["bench"] == "e2e" and data["questions"] == 2 and data["n_chunks"] > 0
    assert "app_error" not in data and data["app_cold_start_s"] > 0
    assert data["index_load_s"] > 0 and data["retrieval_ms_p50"] > 0 and data["extract_answer_s_p50"] > 0
    assert data["ttft_s_p50"] is not None and data["prompt_tokens_p50"] > 0


def test_line_likeness_smoke():
    out = subprocess.run([sys.executable, "bench/line_likeness.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["bench"] == "line_likeness" and set(data["sets"]) == {"dev", "dev2"}
    for part in data["sets"].values():
        without = part["without"]
        assert part["lines"] == 20 and without["right_lost"] == 0
        for t in ("at_0.7", "at_1"):  # a threshold only takes lines away
            at = part[t]
            assert at["shown_right"] + at["right_lost"] == without["shown_right"]
            assert at["shown_wrong"] <= without["shown_wrong"]


def test_translator_labels_smoke():
    out = subprocess.run([sys.executable, "bench/translator_labels.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["bench"] == "translator_labels"
    labelled = [json.loads(line) for line in (REPO / "tests" / "data" / "translated_lines_models.jsonl").open()]
    assert set(data["models"]) == {r.get("variant", r["model"]) for r in labelled} >= {
        "local:qwen2.5-coder-0.5b", "local:qwen2.5-coder-1.5b", "0.5B relabelled", "0.5B + course terms"}
    for cells in data["models"].values():
        c = cells["all"]
        assert c["lines"] == 20 and c["shown_right"] + c["shown_wrong"] == c["shown"] <= c["lines"]


def test_sentence_vectors_smoke():
    out = subprocess.run([sys.executable, "bench/sentence_vectors.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["bench"] == "sentence_vectors" and data["questions"] == 2 and data["table_texts"] > data["chunks"] > 0
    # with the table the answers embed fewer texts than without it (only the question and the quote's lines)
    assert data["table"]["texts_max"] < data["none"]["texts_max"]


def test_concurrent_answers_smoke():
    out = subprocess.run([sys.executable, "bench/concurrent_answers.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    row = data["rows"][0]
    assert data["bench"] == "concurrent_answers" and row["students"] == 2
    assert row["completed"] == 2 and row["total_s_max"] >= row["total_s_p50"] > 0
