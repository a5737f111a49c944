"""Concurrent users against the web app's ``/ask`` API (gradio_client, 127.0.0.1 only).

    PYTHONPATH=. python bench/concurrency.py [--clients 20] [--questions 10] [--concurrency 1 4]

For each concurrency value, starts ``app.py`` on a free port over the seed corpus (index
built once in a temporary folder with the packaged model), then ``--clients`` clients each
ask ``--questions`` questions one after another; prints per-question latency p50/p95,
wall time and errors. ``--concurrency 1`` is how the app ran before issue 7 (one
request at a time). Then one request with a 10 MB history turn is timed alone."""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = (
    ("How many people work at Musan Mine?", []),
    ("And what does its leadership earn?", ["How many people work at Musan Mine?"]),
    ("Which factory makes the rock drills used in Kaechon?", []),
    ("What is the capital of France?", []),
    ("Where are the rock drills tested?", []),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(index: Path, corpus: Path, concurrency: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, ASSISTANT_CONCURRENCY=str(concurrency), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--index", str(index),
                             "--corpus", str(corpus)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:  # "Loaded N articles …" comes just before launch
        if line.startswith("Loaded"):
            break
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the app did not start")


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run(url: str, clients: int, questions: int) -> dict:
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients)

    def user(i: int) -> None:
        client = Client(url, verbose=False)
        ready.wait()
        for j in range(questions):
            q, hist = QUESTIONS[(i + j) % len(QUESTIONS)]
            t0 = time.perf_counter()
            try:
                client.predict(q, hist, 5, [], api_name="/ask")
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001 - counted
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95), "wall": wall,
            "answered": len(latencies), "errors": errors}


def huge_history(url: str, mb: int = 10) -> float:
    from gradio_client import Client

    client = Client(url, verbose=False)
    turn = "How many people work at Musan Mine? " + "x" * (mb * 1_000_000)
    t0 = time.perf_counter()
    client.predict("And what does its leadership earn?", [turn], 5, [], api_name="/ask")
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--questions", type=int, default=10)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    try:
        shutil.copytree(ROOT / "corpus", work / "corpus")
        subprocess.run([sys.executable, "-m", "assistant", "index", "--corpus", str(work / "corpus"),
                        "--index", str(work / "index"), "--quiet"], check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        for c in a.concurrency:
            proc, url = _start(work / "index", work / "corpus", c)
            try:
                run(url, 2, 2)  # warm-up
                r = run(url, a.clients, a.questions)
                big = huge_history(url)
            finally:
                proc.terminate()
                proc.wait(30)
            print(f"concurrency {c}: {a.clients} clients x {a.questions} questions: p50 {r['p50'] * 1000:.0f} ms, "
                  f"p95 {r['p95'] * 1000:.0f} ms, wall {r['wall']:.1f} s, answered {r['answered']}, "
                  f"errors {len(r['errors'])}{' (' + r['errors'][0] + ')' if r['errors'] else ''}; "
                  f"10 MB history turn alone: {big:.2f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
