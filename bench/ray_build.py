"""Build throughput on Ray against the plain build, on this machine.

    python bench/ray_build.py [--corpus eval/data/xquad-en/xquad.en.json] [--repeat 2] [--workers 1 2]

Starts a local Ray cluster (2 CPUs, no dashboard, workers at this process's priority as with
`--ray auto`; its start-up is reported, not counted),
then builds the corpus into a fresh index with the plain single-process build and with
`--ray` at each worker count, alternating, `--repeat` times. Each build's wall time counts
everything a user waits for: loading the model (once in the plain build, once per actor on
Ray), chunking, embedding, writing. Reports chunks/s (median), the ratio to the plain build,
and checks that every Ray index equals the plain one (content hash, chunk rows, vectors
within cosine 0.9999). The machine is shared: the load average is printed with the results."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=str(ROOT / "eval" / "data" / "xquad-en" / "xquad.en.json"))
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--out", default=str(ROOT / "artifacts" / "ray_build.json"))
    args = p.parse_args(argv)
    from assistant.runtime import quiet_libraries

    quiet_libraries()
    import numpy as np
    import ray

    from assistant.store.build import build_index
    from assistant.store.distributed import LOCAL_CLUSTER_CONFIG, ray_embedder
    from assistant.embed.factory import encoder_from_settings
    from assistant.settings import Settings
    from assistant.store.index import load_index, read_manifest

    settings = Settings()
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, address="local", log_to_driver=False,
             _system_config=LOCAL_CLUSTER_CONFIG)  # workers at this process's priority, as `--ray auto` does
    cluster_start = time.perf_counter() - t
    load_start = os.getloadavg()
    times: dict[str, list[float]] = {"plain": [], **{f"ray-{w}": [] for w in args.workers}}
    checks, chunks = {}, None
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        for r in range(args.repeat):
            order = ["plain"] + [f"ray-{w}" for w in args.workers]
            if r % 2:
                order.reverse()
            for name in order:
                ix = Path(tmp) / f"{name}-{r}"
                embedder = None if name == "plain" else ray_embedder("auto", workers=int(name.split("-")[1]))
                t = time.perf_counter()
                report = build_index(args.corpus, ix, settings, progress=False, embedder=embedder,
                                     encoder_factory=lambda: encoder_from_settings(settings))
                times[name].append(time.perf_counter() - t)
                chunks = report.chunks
                print(f"repeat {r + 1} {name}: {times[name][-1]:.1f}s ({report.chunks} chunks)", file=sys.stderr)
        plain = Path(tmp) / "plain-0"
        a = load_index(plain)
        rows = np.arange(len(a.chunks))
        for name in times:
            if name == "plain":
                continue
            b_dir = Path(tmp) / f"{name}-0"
            b = load_index(b_dir)
            checks[name] = {
                "same_content_hash": read_manifest(plain)["content_hash"] == read_manifest(b_dir)["content_hash"],
                "same_chunk_rows": [(c.doc_id, c.start, c.end) for c in a.chunks] == [(c.doc_id, c.start, c.end) for c in b.chunks],
                "min_cosine": float(np.min(np.sum(a.chunk_vectors(rows) * b.chunk_vectors(rows), axis=1))),
            }
    ray.shutdown()
    med = {k: statistics.median(v) for k, v in times.items()}
    report = {
        "corpus": args.corpus, "chunks": chunks, "cpus": os.cpu_count(), "cluster_start_seconds": cluster_start,
        "load_average_start": load_start, "load_average_end": os.getloadavg(), "seconds": times,
        "median_seconds": med, "chunks_per_second": {k: chunks / v for k, v in med.items()},
        "throughput_vs_plain": {k: med["plain"] / v for k, v in med.items()}, "checks": checks,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"{chunks} chunks; Ray cluster start {cluster_start:.1f}s (not counted); load average "
          f"{load_start[0]:.1f} → {report['load_average_end'][0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'build':8} {'median s':>9} {'chunks/s':>9} {'vs plain':>9}  equal to plain")
    for k in times:
        c = checks.get(k)
        eq = "" if c is None else f"hash {c['same_content_hash']}, rows {c['same_chunk_rows']}, min cosine {c['min_cosine']:.6f}"
        print(f"{k:8} {med[k]:9.1f} {report['chunks_per_second'][k]:9.1f} {report['throughput_vs_plain'][k]:9.2f}  {eq}")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
