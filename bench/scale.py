"""Scale benchmark of the vector index types (assistant/store/ann.py) at 100k and 1M vectors.

    python bench/scale.py [--sizes 100000 1000000] [--queries 300] [--out artifacts/scale.json]

Vectors are generated, 384 dimensions like the default model, with the structure of
sentence embeddings: a 64-dimensional latent of clustered topics (a Gaussian mixture,
1 cluster per ~500 vectors) mapped through a fixed random projection with a decaying
spectrum, plus isotropic noise, L2-normalised. Queries are fresh draws from the same
distribution (not indexed vectors). For each size and index type, one process builds the
index and writes it as the index stage does (`vectors.faiss` + `embeddings.npy`); a fresh
process then opens it exactly as `store.load_index` does (FAISS file read, full vectors
memory-mapped, `ann.wrap`), answers the queries one at a time and reports latency
p50/p95, recall@10 against the flat index (exact search), and its resident memory
(VmRSS, split into anonymous and file-backed pages) above the process's baseline.
The machine is shared: read ratios, and the load average printed with the results."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DIM = 384
LATENT = 64


def generate(path: Path, n: int, seed: int, topics: int, chunk: int = 100_000) -> None:
    """``n`` clustered unit vectors into an .npy file, written in slabs (bounded memory).
    The topic centres and the projection come from a fixed seed, shared by every draw."""
    import numpy as np

    base = np.random.default_rng(12345)
    centres = base.normal(size=(topics, LATENT)).astype(np.float32)
    spectrum = (1.0 / np.sqrt(np.arange(1, LATENT + 1))).astype(np.float32)
    proj = (base.normal(size=(LATENT, DIM)) / np.sqrt(LATENT)).astype(np.float32) * spectrum[:, None]
    rng = np.random.default_rng(seed + 1)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, DIM))
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        z = centres[rng.integers(0, topics, m)] + 0.6 * rng.normal(size=(m, LATENT)).astype(np.float32)
        x = z @ proj + 0.08 * rng.normal(size=(m, DIM)).astype(np.float32)
        out[i : i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    out.flush()
    del out


def rss() -> dict[str, int]:
    """Resident memory of this process in bytes (VmRSS, RssAnon, RssFile)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
    return out


def child_build(args) -> None:
    import faiss
    import numpy as np

    from assistant.store import ann

    vectors = np.load(args.vectors, mmap_mode="r")
    t = time.perf_counter()
    index, params = ann.build(np.asarray(vectors), args.kind)
    seconds = time.perf_counter() - t
    faiss.write_index(index, str(Path(args.workdir) / f"{args.kind}.faiss"))
    Path(args.workdir, f"{args.kind}.json").write_text(json.dumps({"params": params, "build_seconds": seconds}))


def child_query(args) -> None:
    import faiss
    import numpy as np

    from assistant.store import ann

    queries = np.load(args.query_file)
    base = rss()
    meta = json.loads(Path(args.workdir, f"{args.kind}.json").read_text())
    t = time.perf_counter()
    vectors = np.load(args.vectors, mmap_mode="r")  # as store.load_index does
    index = ann.wrap(faiss.read_index(str(Path(args.workdir) / f"{args.kind}.faiss")), meta["params"], vectors)
    load_seconds = time.perf_counter() - t
    truth = np.load(args.truth) if args.truth else None
    settings = [None]
    if meta["params"]["type"] == "ivfpq":
        p = meta["params"]["nprobe"]
        settings = sorted({max(1, p // 2), p, min(meta["params"]["nlist"], p * 2)})
    runs = []
    for nprobe in settings:
        if nprobe is not None:
            index.nprobe = nprobe
        index.search(queries[:5], 10)  # warm up
        times, ids = [], []
        for q in queries:
            t = time.perf_counter()
            _, rows = index.search(q.reshape(1, -1), 10)
            times.append(time.perf_counter() - t)
            ids.append(rows[0])
        ids = np.array(ids)
        recall = None
        if truth is not None:
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)]))
        times.sort()
        runs.append({
            "nprobe": nprobe, "p50_ms": 1000 * times[len(times) // 2], "p95_ms": 1000 * times[int(len(times) * 0.95)],
            "recall@10": recall,
        })
        if args.save_ids:
            np.save(args.save_ids, ids)
    after = rss()
    print(json.dumps({
        "kind": args.kind, "params": meta["params"], "build_seconds": meta["build_seconds"], "load_seconds": load_seconds,
        "runs": runs, "rss_baseline": base["VmRSS"],
        "rss_index": after["VmRSS"] - base["VmRSS"], "rss_index_anon": after["RssAnon"] - base["RssAnon"],
        "rss_index_file": after["RssFile"] - base["RssFile"],
        "faiss_bytes": Path(args.workdir, f"{args.kind}.faiss").stat().st_size,
        "vectors_bytes": Path(args.vectors).stat().st_size,
    }))


def run_child(mode: str, **kw) -> dict | None:
    cmd = [sys.executable, __file__, f"--child-{mode}"] + [x for k, v in kw.items() if v is not None for x in (f"--{k.replace('_', '-')}", str(v))]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if out.returncode:
        raise SystemExit(f"{mode} {kw.get('kind')} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]) if mode == "query" else None


def bench_size(n: int, n_queries: int, kinds: list[str], workdir: Path) -> dict:
    import numpy as np

    vectors = workdir / "vectors.npy"
    queries = workdir / "queries.npy"
    t = time.perf_counter()
    generate(vectors, n, seed=0, topics=max(16, n // 500))
    generate(queries, n_queries, seed=7, topics=max(16, n // 500))
    print(f"[{n:,}] generated in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    results = {}
    truth = workdir / "truth.npy"
    for kind in ["flat"] + [k for k in kinds if k != "flat"]:
        t = time.perf_counter()
        run_child("build", vectors=vectors, kind=kind, workdir=workdir)
        results[kind] = run_child("query", vectors=vectors, query_file=queries, kind=kind, workdir=workdir,
                                  truth=truth if kind != "flat" else None, save_ids=truth if kind == "flat" else None)
        if kind == "flat":
            results[kind]["runs"][0]["recall@10"] = 1.0
        r = results[kind]
        print(f"[{n:,}] {kind}: built in {r['build_seconds']:.0f}s, {r['runs']}, index RSS {r['rss_index'] / 2**20:.0f} MiB "
              f"(total {time.perf_counter() - t:.0f}s)", file=sys.stderr)
        (workdir / f"{kind}.faiss").unlink()
    flat_rss = results["flat"]["rss_index"]
    for r in results.values():
        r["rss_vs_flat"] = r["rss_index"] / flat_rss if flat_rss else None
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--kinds", nargs="+", default=["flat", "ivfpq", "hnsw"], help="hnsw is measured up to 200,000 vectors only")
    p.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one; needs ~1.6 GB a million vectors)")
    p.add_argument("--out", default=str(ROOT / "artifacts" / "scale.json"))
    for mode in ("build", "query"):
        p.add_argument(f"--child-{mode}", action="store_true", help=argparse.SUPPRESS)
    for name in ("vectors", "query-file", "kind", "truth", "save-ids"):
        p.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_build:
        return child_build(args) or 0
    if args.child_query:
        return child_query(args) or 0
    report = {"load_average_start": os.getloadavg(), "cpus": os.cpu_count(), "queries": args.queries, "sizes": {}}
    for n in args.sizes:
        kinds = [k for k in args.kinds if k != "hnsw" or n <= 200_000]
        with tempfile.TemporaryDirectory(prefix="scale-", dir=args.workdir) as tmp:
            report["sizes"][str(n)] = bench_size(n, args.queries, kinds, Path(tmp))
    report["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"\nload average {report['load_average_start'][0]:.1f} → {report['load_average_end'][0]:.1f} on {report['cpus']} CPUs")
    print(f"{'vectors':>9} {'type':6} {'nprobe':>6} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>9} {'RSS MiB':>8} {'vs flat':>7} {'faiss MiB':>9} {'build s':>7}")
    for n, results in report["sizes"].items():
        for kind, r in results.items():
            disk = r["faiss_bytes"]
            for run in r["runs"]:
                print(f"{int(n):>9,} {kind:6} {run['nprobe'] or '':>6} {run['p50_ms']:7.2f} {run['p95_ms']:7.2f} "
                      f"{run['recall@10']:9.3f} {r['rss_index'] / 2**20:8.0f} {r['rss_vs_flat']:7.2f} "
                      f"{disk / 2**20:9.0f} {r['build_seconds']:7.0f}")
    for n, results in report["sizes"].items():
        print(f"{int(n):>9,} full vectors (embeddings.npy, memory-mapped by ivfpq): {results['flat']['vectors_bytes'] / 2**20:.0f} MiB on disk")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
