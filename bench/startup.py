"""What users wait for, each measured in a fresh process and reported against
`python -c "import torch, sentence_transformers"` timed in the same run (a ratio stays
meaningful on a shared, loaded machine):

- cold `assistant ask`: wall time and peak RSS, on the seed index and on a ~25,000-chunk
  index of a synthetic corpus (bench/synth.py; built once into --cache, grown in steps);
- `python app.py` from start until its page answers (index up to date);
- `assistant index`: chunks/s and peak RSS in a fresh process, ONNX against torch on the
  XQuAD articles (the production path, late chunking included), and the 25k build's steps;
- warm `ask` p50 in one process (seed questions, and on the 25k index).

    python bench/startup.py [--repeat 5] [--cache .cache/bench] [--out artifacts/startup.json]

Medians; peak RSS is the kernel's accounting of each finished child (/usr/bin/time -f %M)."""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
QUESTION = "How many people work at Musan Mine?"
TARGETS = {  # issue 8
    "cold_ask_seed_ratio": 0.3, "cold_ask_seed_rss_mb": 300, "cold_ask_25k_ratio": 0.5, "cold_ask_25k_rss_mb": 600,
    "app_ready_s": 6.0, "index_25k_peak_rss_mb": 1200, "warm_ask_p50_ms": 50,
}


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one fresh process."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%M", *cmd], capture_output=True, text=True,
                           cwd=ROOT, env=env)
        wall = time.perf_counter() - t
        if r.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
        rss_kb = int(tf.read().strip().splitlines()[-1])
    return wall, rss_kb / 1024, r.stdout + r.stderr


def median_runs(cmd, repeat, env=None):
    runs = [timed(cmd, env)[:2] for _ in range(repeat)]
    return statistics.median(w for w, _ in runs), statistics.median(m for _, m in runs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_ready(index: Path, corpus: Path, env: dict) -> float:
    """Seconds from `python app.py` starting until its page answers."""
    port = free_port()
    t = time.perf_counter()
    p = subprocess.Popen([PY, "app.py", "--index", str(index), "--corpus", str(corpus), "--port", str(port)],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - t
            except OSError:
                time.sleep(0.05)
            if p.poll() is not None:
                raise SystemExit("app.py exited before it was ready")
        raise SystemExit("app.py was not ready within 120 s")
    finally:
        p.terminate()
        p.wait(10)


def index_rate(corpus: Path, backend: str, env: dict) -> dict:
    """A fresh `assistant index` of ``corpus`` into an empty folder: chunks/s and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        wall, rss, out = timed([PY, "-m", "assistant", "index", "--corpus", str(corpus), "--index", tmp,
                                "--quiet", "--backend", backend], env)
    chunks = int(re.search(r"(\d+) chunks \((\d+) embedded\)", out).group(2))
    return {"chunks": chunks, "wall_s": round(wall, 1), "chunks_per_s": round(chunks / wall, 1), "peak_rss_mb": round(rss)}


def ensure_25k(cache: Path, env: dict, steps: int = 5) -> tuple[Path, list[dict]]:
    """The synthetic ~25,000-chunk index, built once (grown in ``steps`` incremental builds,
    each a fresh `assistant index` whose time and peak RSS are kept)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from synth import write_corpus

    d = cache / "synth-25k"
    full, corpus, index, log = d / "corpus-full.jsonl", d / "corpus.jsonl", d / "index", d / "steps.json"
    if not full.exists():
        write_corpus(full, 25000)
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    done = json.loads(log.read_text()) if log.exists() else []
    for s in range(len(done), steps):
        n = len(lines) * (s + 1) // steps
        corpus.write_text("".join(lines[:n]), encoding="utf-8")
        print(f"building the 25k index, step {s + 1}/{steps} ({n} articles)…", file=sys.stderr, flush=True)
        wall, rss, out = timed([PY, "-m", "assistant", "index", "--corpus", str(corpus), "--index", str(index), "--quiet"], env)
        m = re.search(r"; (\d+) chunks \((\d+) embedded\)", out)
        done.append({"articles": n, "chunks": int(m.group(1)), "embedded": int(m.group(2)), "wall_s": round(wall, 1),
                     "chunks_per_s": round(int(m.group(2)) / wall, 1), "peak_rss_mb": round(rss)})
        log.write_text(json.dumps(done, indent=1))
    return index, done


def warm_p50(index: Path, questions: list[str], repeat: int = 3) -> float:
    from assistant.engine import Assistant

    a = Assistant.open(index)
    for q in questions[:5]:
        a.ask(q)
    lat = []
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            a.ask(q)
            lat.append((time.perf_counter() - t) * 1000)
    return statistics.median(lat)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--cache", default=str(ROOT / ".cache" / "bench"))
    p.add_argument("--out", default=str(ROOT / "artifacts" / "startup.json"))
    p.add_argument("--skip-25k", action="store_true", help="leave out the ~25,000-chunk index (it takes long to build once)")
    p.add_argument("--only-25k", action="store_true", help="only the torch import and the ~25,000-chunk index figures")
    args = p.parse_args(argv)
    from assistant.runtime import quiet_libraries
    from assistant.embed.factory import onnx_ready
    from assistant.evaluation.sets import load_eval_file

    quiet_libraries()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if not onnx_ready():
        subprocess.run([PY, "-m", "assistant", "prepare-model"], cwd=ROOT, env=env, check=True)
    cache = Path(args.cache)
    seed_ix = cache / "seed-index"
    subprocess.run([PY, "-m", "assistant", "index", "--corpus", "corpus", "--index", str(seed_ix), "--quiet"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    r: dict = {"cpu_count": os.cpu_count(), "load_average_1m_start": round(os.getloadavg()[0], 2)}

    torch_s, torch_mb = median_runs([PY, "-c", "import torch, sentence_transformers"], args.repeat, env)
    r["torch_import_s"], r["torch_import_rss_mb"] = round(torch_s, 2), round(torch_mb)
    ask = [PY, "-m", "assistant", "ask", QUESTION, "--index"]
    questions = [q.question for q in load_eval_file(ROOT / "eval" / "seed_questions.jsonl").questions]
    if not args.only_25k:
        seed_figures(r, ask, seed_ix, questions, torch_s, args.repeat, env)
    if not args.skip_25k:
        ix25, steps = ensure_25k(cache, env)
        r["index_25k_steps"] = steps
        r["index_25k_peak_rss_mb"] = max(s["peak_rss_mb"] for s in steps)
        r["chunks_25k"] = steps[-1]["chunks"]
        s, mb = median_runs(ask + [str(ix25)], args.repeat, env)
        r["cold_ask_25k_s"], r["cold_ask_25k_rss_mb"], r["cold_ask_25k_ratio"] = round(s, 2), round(mb), round(s / torch_s, 2)
        r["warm_ask_25k_p50_ms"] = round(warm_p50(ix25, questions, 1), 1)
    r["load_average_1m_end"] = round(os.getloadavg()[0], 2)

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(r, indent=1))
    width = max(map(len, r))
    for k, v in r.items():
        print(f"{k:<{width}}  {v}")
    print("targets: " + "; ".join(
        f"{k} {r[k]} <= {t} {'met' if r[k] <= t else 'MISSED'}" for k, t in TARGETS.items() if k in r))
    return 0


def seed_figures(r: dict, ask: list[str], seed_ix: Path, questions: list[str], torch_s: float, repeat: int, env: dict) -> None:
    s, mb = median_runs(ask + [str(seed_ix)], repeat, env)
    r["cold_ask_seed_s"], r["cold_ask_seed_rss_mb"], r["cold_ask_seed_ratio"] = round(s, 2), round(mb), round(s / torch_s, 2)
    s, mb = median_runs(ask + [str(seed_ix), "--backend", "torch"], max(1, repeat // 2), env)
    r["cold_ask_seed_torch_backend_s"], r["cold_ask_seed_torch_backend_rss_mb"] = round(s, 2), round(mb)
    r["app_ready_s"] = round(statistics.median(app_ready(seed_ix, ROOT / "corpus", env) for _ in range(max(1, repeat // 2))), 2)
    r["gradio_import_s"] = round(median_runs([PY, "-c", "import gradio"], max(1, repeat // 2), env)[0], 2)  # most of app_ready

    r["warm_ask_seed_p50_ms"] = round(warm_p50(seed_ix, questions), 1)

    xquad = ROOT / "eval" / "data" / "xquad-en" / "xquad.en.json"
    r["index_xquad_onnx"] = index_rate(xquad, "onnx", env)
    r["index_xquad_torch"] = index_rate(xquad, "torch", env)
    r["warm_ask_p50_ms"] = r["warm_ask_seed_p50_ms"]


if __name__ == "__main__":
    sys.exit(main())
