"""Benchmark on the XQuAD articles (eval/data/xquad-en): index build against the encoder's
own time on the same chunks, re-index of the unchanged corpus, and warm `ask` latency.

    python bench/bench.py [--repeat 3] [--questions 300] [--out artifacts/bench.json]

Reports medians over the repeats; the machine is shared, so read ratios, not absolutes."""
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
XQUAD = ROOT / "eval" / "data" / "xquad-en" / "xquad.en.json"


class TimedEncoder:
    """Wraps an encoder and adds up the time spent inside it. It keeps the inner encoder's
    ``encode_spans`` (late chunking), so the build runs its production path, not the
    per-sentence fallback it would take without it."""

    def __init__(self, inner):
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.seconds = 0.0
        self.texts: list[str] = []
        self.spans: list = []

    def encode_spans(self, texts, spans):
        t = time.perf_counter()
        out = self.inner.encode_spans(texts, spans)
        self.seconds += time.perf_counter() - t
        self.texts.extend(texts)
        self.spans.extend(spans)
        return out

    def encode(self, texts):
        t = time.perf_counter()
        out = self.inner.encode(texts)
        self.seconds += time.perf_counter() - t
        self.texts.extend(texts)
        return out

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--questions", type=int, default=300)
    p.add_argument("--out", default=str(ROOT / "artifacts" / "bench.json"))
    args = p.parse_args(argv)
    from assistant.runtime import quiet_libraries

    quiet_libraries()

    import numpy as np

    from assistant.store.build import EMBED_SLAB, build_index
    from assistant.embed.factory import load_encoder
    from assistant.engine import Assistant
    from assistant.ingest.load import load_squad
    from assistant.settings import Settings

    t = time.perf_counter()
    encoder = load_encoder()
    model_load = time.perf_counter() - t
    settings = Settings()
    builds, encode_alone, inside = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            ix = Path(tmp) / f"ix{r}"
            timed = TimedEncoder(encoder)
            t = time.perf_counter()
            report = build_index(XQUAD, ix, settings, encoder=timed, progress=False)
            builds.append(time.perf_counter() - t)
            inside.append(timed.seconds)
            assert len(timed.texts) == report.chunks, "the build did not take the encode_spans path"
            # the encoder alone on exactly the same texts and spans, in the same slabs
            t = time.perf_counter()
            for i in range(0, len(timed.texts), EMBED_SLAB):
                encoder.encode_spans(timed.texts[i : i + EMBED_SLAB], timed.spans[i : i + EMBED_SLAB])
            encode_alone.append(time.perf_counter() - t)
            print(f"build {r + 1}/{args.repeat}: {builds[-1]:.1f}s, encoder alone {encode_alone[-1]:.1f}s", file=sys.stderr)
        chunks = report.chunks

        def no_model():
            raise AssertionError("re-index of an unchanged corpus must not load the model")

        reindex = []
        for _ in range(max(3, args.repeat)):
            t = time.perf_counter()
            again = build_index(XQUAD, ix, settings, encoder_factory=no_model, progress=False)
            reindex.append(time.perf_counter() - t)
            assert again.embedded_chunks == 0 and again.unchanged == report.added

        assistant = Assistant.open(ix, settings, encoder=encoder)
        _, questions = load_squad(XQUAD)
        qs = [q["question"] for q in questions][: args.questions]
        for q in qs[:10]:
            assistant.ask(q)
        lat = []
        for q in qs:
            t = time.perf_counter()
            assistant.ask(q)
            lat.append((time.perf_counter() - t) * 1000)

    b, e = statistics.median(builds), statistics.median(encode_alone)
    result = {
        "articles": report.added,
        "chunks": chunks,
        "model_load_s": round(model_load, 2),
        "build_s_median": round(b, 2),
        "chunks_per_s": round(chunks / b, 1),
        "encoder_alone_s_median": round(e, 2),
        "encoder_inside_build_s_median": round(statistics.median(inside), 2),
        "pipeline_overhead": round((b - e) / e, 3),
        "reindex_unchanged_s_median": round(statistics.median(reindex), 3),
        "reindex_unchanged_embedded_chunks": 0,
        "ask_ms_p50": round(float(np.percentile(lat, 50)), 1),
        "ask_ms_p95": round(float(np.percentile(lat, 95)), 1),
        "ask_questions": len(lat),
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    width = max(map(len, result))
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")
    print(f"targets: pipeline_overhead <= 0.15 -> {'met' if result['pipeline_overhead'] <= 0.15 else 'MISSED'}; "
          f"re-index embeds nothing -> met; ask p50 <= 50 ms -> {'met' if result['ask_ms_p50'] <= 50 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
