"""The light embedding runtime: onnxruntime + ``tokenizers`` over an ONNX export of a
sentence-transformers model (Transformer → mean pooling → normalise), with no torch at
run time.

The export is made once with ``torch.onnx.export`` (the TorchScript exporter, opset 17)
into a cache folder named by a hash of the model's files, and checked against the
sentence-transformers vectors on a probe set (minimum cosine ≥ ``MIN_COSINE``) before it
is ever used; ``verified.json`` is written only when the check passes. So an index built
with either runtime answers the same with the other. sentence-transformers stays the
reference (``torch_runtime.SentenceTransformerEncoder``)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import ModelError
from .encoder import normalise
from .torch_runtime import SentenceTransformerEncoder, load_sentence_transformer

EXPORT_VERSION = 1  # bump when the export or the check changes: old exports are ignored
OPSET = 17
MIN_COSINE = 0.9999
_MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json", "modules.json",
                "sentence_bert_config.json", "1_Pooling/config.json")
_PROBES = (
    "How many people work at Musan Mine?",
    "North Korea's largest iron ore mine exported concentrate to China for years.",
    "Kim said the factory's rock drills were repaired with parts smuggled across the border.",
    "Prices of rice and corn in Pyongyang markets rose 12% in March, traders told Daily NK.",
    "Ünïcödé, accents — and “quotes” are kept; 北朝鮮 too.",
    "a",
    "The quick brown fox jumps over the lazy dog. " * 80,  # longer than the model window: truncated
    "Residents said the authorities ordered miners to fill quotas. " * 6,
)


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/news-assistant/onnx``, else ``~/.cache/news-assistant/onnx``
    (``Settings.onnx_cache`` / ``ASSISTANT_ONNX_CACHE`` overrides it)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "news-assistant" / "onnx"


def supported(model_dir: str | Path) -> bool:
    """True for a local sentence-transformers folder with the layout the export covers:
    a Transformer, mean pooling, optionally Normalize, and a fast tokenizer file."""
    d = Path(model_dir)
    try:
        modules = json.loads((d / "modules.json").read_text())
        pooling = json.loads((d / "1_Pooling" / "config.json").read_text())
        bert = json.loads((d / "sentence_bert_config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    return (kinds in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"])
            and modes == ["pooling_mode_mean_tokens"] and (d / "tokenizer.json").is_file()
            and not bert.get("do_lower_case"))


def fingerprint(model_dir: str | Path, cache_dir: str | Path | None = None) -> str:
    """Hash of the model's files (and of the export recipe): the cache key. With
    ``cache_dir``, the hash is remembered there against the files' sizes and mtimes, so a
    cold start does not re-read ~90 MB of weights."""
    d = Path(model_dir).resolve()
    files = [d / n for n in _MODEL_FILES if (d / n).is_file()]
    stamp = json.dumps([[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files])
    memo = Path(cache_dir) / "fingerprints.json" if cache_dir else None
    known = {}
    if memo is not None:
        try:
            known = json.loads(memo.read_text())
            if known.get(str(d), [None])[0] == stamp:
                return known[str(d)][1]
        except (OSError, ValueError, AttributeError, IndexError, TypeError):
            known = {}
    h = hashlib.sha256(f"export-v{EXPORT_VERSION}-opset{OPSET}".encode())
    for p in files:
        h.update(str(p.relative_to(d)).encode())
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    digest = h.hexdigest()[:24]
    if memo is not None and isinstance(known, dict):
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".fingerprints-", dir=memo.parent)
            with os.fdopen(fd, "w") as f:
                json.dump(dict(known, **{str(d): [stamp, digest]}), f)
            os.replace(tmp, memo)
        except OSError:
            pass  # a read-only cache only costs the re-hash next time
    return digest


def export_dir(model_dir: str | Path, cache_dir: str | Path) -> Path:
    return Path(cache_dir) / fingerprint(model_dir, cache_dir)


def is_ready(folder: Path) -> bool:
    try:
        check = json.loads((folder / "verified.json").read_text())
    except (OSError, ValueError):
        return False
    return (check.get("min_cosine", 0) >= MIN_COSINE and (folder / "model.onnx").is_file()
            and (folder / "tokenizer.json").is_file())


def export(model_dir: str | Path, cache_dir: str | Path, name: str, reference=None) -> Path:
    """Export the model to ONNX (needs torch, once), check it against sentence-transformers
    on the probe set, and move it into the cache. Returns the ready folder. ``reference``:
    an already loaded ``SentenceTransformerEncoder`` of the same model (else one is loaded)."""
    model_dir = Path(model_dir)
    target = export_dir(model_dir, cache_dir)
    if is_ready(target):
        return target
    if not supported(model_dir):
        raise ModelError(f"The model {name!r} has a layout the ONNX export does not cover: use --backend torch.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        _export_onnx(model_dir, tmp / "model.onnx")
        shutil.copyfile(model_dir / "tokenizer.json", tmp / "tokenizer.json")
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        (tmp / "encoder.json").write_text(json.dumps({"name": name, "max_seq_length": config["max_seq_length"],
                                                      "normalize": True}))
        if reference is None:
            reference = SentenceTransformerEncoder(load_sentence_transformer(name, str(model_dir)), name=name)
        candidate = OnnxEncoder(tmp, name=name)
        worst = check_against(candidate, reference)
        if worst < MIN_COSINE:
            raise ModelError(
                f"The ONNX export of {name!r} differs from sentence-transformers (minimum cosine {worst:.6f} "
                f"< {MIN_COSINE}): use --backend torch."
            )
        (tmp / "verified.json").write_text(json.dumps({"min_cosine": worst, "probes": len(_PROBES),
                                                       "opset": OPSET, "export_version": EXPORT_VERSION}))
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished the same export first
            if not is_ready(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def check_against(candidate, reference, texts: Sequence[str] = _PROBES) -> float:
    """Minimum cosine between the two encoders' vectors of the probe texts, for whole texts
    and for late-chunked sentence spans (one batch, so padding is exercised too)."""
    texts = list(texts)
    a, b = candidate.encode(texts), reference.encode(texts)
    worst = float(np.min(np.sum(a * b, axis=1)))
    spans = [[(0, min(len(t), 20)), (min(len(t), 20), len(t))] if len(t) > 20 else [(0, len(t))] for t in texts]
    (va, sa), (vb, sb) = candidate.encode_spans(texts, spans), reference.encode_spans(texts, spans)
    worst = min(worst, float(np.min(np.sum(va * vb, axis=1))))
    for x, y in zip(sa, sb):
        live = np.linalg.norm(y, axis=1) > 0  # a span past the model window has no tokens in either
        if live.any():
            worst = min(worst, float(np.min(np.sum(x[live] * y[live], axis=1))))
    return worst


def _export_onnx(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    model.eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenEmbeddings(model), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(out),
            dynamo=False, opset_version=OPSET, input_names=names, output_names=["token_embeddings"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["token_embeddings"]},
        )


class OnnxEncoder:
    """The ``Encoder`` interface on onnxruntime: same vectors as sentence-transformers."""

    def __init__(self, folder: str | Path, name: str | None = None, batch_size: int = 32, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "encoder.json").read_text())
        self.name = name or config["name"]
        self.batch_size = batch_size
        self.max_seq_length = int(config["max_seq_length"])
        self.max_tokens = self.max_seq_length - 2  # room for [CLS] and [SEP]
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=self.max_seq_length)
        self._count = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._count.no_padding()
        self._count.no_truncation()
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._run([self._tok.encode("dimension")])[0].shape[-1])

    def _run(self, encodings) -> list[np.ndarray]:
        """Token embeddings of each encoding (unpadded rows), one padded batch."""
        n = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), n), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = e.attention_mask
            types[i, : len(e.ids)] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        out = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return [out[i, : len(e.ids)] for i, e in enumerate(encodings)]

    def _token_embeddings(self, texts: Sequence[str]):
        """(encodings, token embeddings) per text, batched by length to limit padding."""
        encodings = self._tok.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        tokens: list[np.ndarray | None] = [None] * len(texts)
        for s in range(0, len(order), self.batch_size):
            batch = order[s : s + self.batch_size]
            for i, t in zip(batch, self._run([encodings[i] for i in batch])):
                tokens[i] = t
        return encodings, tokens

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        _, tokens = self._token_embeddings(texts)
        return normalise(np.stack([t.mean(axis=0) for t in tokens]))

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """As ``SentenceTransformerEncoder.encode_spans``: one forward pass per text gives its
        vector and one mean-pooled vector per character span (late chunking)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        encodings, tokens = self._token_embeddings(texts)
        vecs = normalise(np.stack([t.mean(axis=0) for t in tokens]))
        span_vecs = []
        for e, tok, sp in zip(encodings, tokens, spans):
            offs = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)
            starts, ends = offs[:, 0], offs[:, 1]
            real = ends > starts
            rows = []
            for a, b in sp:
                m = real & (starts >= a) & (ends <= b)
                rows.append(tok[m].mean(axis=0) if m.any() else np.zeros(self.dim, dtype=np.float32))
            span_vecs.append(normalise(np.array(rows, dtype=np.float32).reshape(-1, self.dim)))
        return vecs, span_vecs

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._count.encode_batch(list(texts), add_special_tokens=False)]
