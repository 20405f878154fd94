"""Writer speed on a GPU (or CPU): time to first token and decode tokens/s of Qwen2.5-class models.

    python bench/writer_throughput.py --smoke                        # a tiny Qwen2 on the CPU, seconds; not saved
    python bench/writer_throughput.py --models 0.5b,1.5b,7b          # on a CUDA machine, bf16

The models are built from their config (the dimensions of Qwen2.5-0.5B / 1.5B / 7B, below) with
random weights: a forward pass costs the same whatever the weights, so this times what
``hf:Qwen/Qwen2.5-7B-Instruct`` would on the same machine without downloading 15 GB. The
prompt is random token ids of ``--prompt-tokens`` (default 1,137: the size of the writer prompt
the offline-models issue measured) and generation is forced to ``--new-tokens`` tokens
(``min_new_tokens``, greedy), one request at a time, through ``model.generate`` with a streamer
in a thread, as ``agent.transformers_chat.TransformersChatModel`` runs it. First token = the
streamer's first generated token after the call starts (the prefill); decode rate =
(tokens − 1) / (last − first). Medians over ``--repeats`` runs after one warm-up. Last line:
one JSON object, also appended to bench/results/writer_throughput.jsonl.

This is transformers' eager generate, the ``hf:`` path; a serving engine (vLLM, llama.cpp's
server) is faster and batches users — docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402

# Dimensions from the models' published config.json files (Qwen2ForCausalLM).
CONFIGS = {
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                 num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
    # for --smoke: seconds on a CPU
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=1000, tie_word_embeddings=True),
}


class TimingStreamer:
    """A transformers streamer that notes when each generated token arrives (the first put() is the prompt)."""

    def __init__(self):
        self.times: list[float] = []
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def build(name: str, device: str, dtype: str):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**CONFIGS[name], max_position_embeddings=32768, rope_theta=1_000_000.0)
    torch_dtype = getattr(torch, dtype)
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(torch_dtype)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    return model, n_params


def one_run(model, prompt, new_tokens: int) -> dict:
    import torch

    streamer = TimingStreamer()
    kwargs = dict(input_ids=prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                  streamer=streamer, pad_token_id=0)
    if prompt.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    thread = threading.Thread(target=model.generate, kwargs=kwargs, daemon=True)
    thread.start()
    thread.join()
    times = streamer.times
    first = times[0] - start
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {"first_token_s": first, "tokens_per_s": rate, "tokens": len(times)}


def measure(name: str, device: str, dtype: str, prompt_tokens: int, new_tokens: int, repeats: int) -> dict:
    import torch

    t0 = time.perf_counter()
    model, n_params = build(name, device, dtype)
    built_s = time.perf_counter() - t0
    gen = torch.Generator().manual_seed(0)
    prompt = torch.randint(10, CONFIGS[name]["vocab_size"] - 10, (1, prompt_tokens), generator=gen).to(device)
    with torch.inference_mode():
        one_run(model, prompt, min(8, new_tokens))  # warm-up: kernels, allocator
        runs = [one_run(model, prompt, new_tokens) for _ in range(repeats)]
    row = {
        "model": name, "params_m": round(n_params / 1e6, 1), "device": device, "dtype": dtype,
        "prompt_tokens": prompt_tokens, "new_tokens": new_tokens, "repeats": repeats,
        "build_s": round(built_s, 2),
        "first_token_s_p50": round(statistics.median(r["first_token_s"] for r in runs), 4),
        "tokens_per_s_p50": round(statistics.median(r["tokens_per_s"] for r in runs), 1),
        "tokens_min": min(r["tokens"] for r in runs),
    }
    if device.startswith("cuda"):
        row["gpu"] = torch.cuda.get_device_name(0)
        row["max_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="0.5b,1.5b,7b", help=f"comma list of {', '.join(CONFIGS)}")
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--prompt-tokens", default="1137", help="comma list of prompt sizes")
    p.add_argument("--new-tokens", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--smoke", action="store_true", help="the tiny config on the CPU, short runs; not saved")
    args = p.parse_args(argv)
    if args.smoke:
        args.models, args.device, args.dtype, args.prompt_tokens, args.new_tokens, args.repeats = (
            "tiny", "cpu", "float32", "64", 8, 1)
    rows = []
    for name in args.models.split(","):
        for n_prompt in (int(x) for x in args.prompt_tokens.split(",")):
            row = measure(name, args.device, args.dtype, n_prompt, args.new_tokens, args.repeats)
            print(row, file=sys.stderr)
            rows.append(row)
    report("writer_throughput", {"random_weights": True, "rows": rows}, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
