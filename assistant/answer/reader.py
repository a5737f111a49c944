"""The reading model at question time: a small MiniLM cross-encoder (4 layers of the
packaged all-MiniLM-L6-v2, fine-tuned by ``python -m assistant.answer.training.reader``)
exported to ONNX, int8, and run with onnxruntime — no torch on the question path.

``Reader.read(question, [(title, sentence), …])`` returns, per sentence, the logit that
it answers the question and the answer's character span inside the sentence (from the
span head). Files: ``models/reader/reader.onnx``, ``tokenizer.json`` and ``reader.json``
(the manifest: format, input length, checksums, training sets)."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import AssistantError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "reader"
FORMAT = 1
RETRAIN = "`make train-reader`"
RESTORE = "models/reader"
MAX_SPAN_TOKENS = 30
MEMO_SIZE = 50_000


class ReaderError(AssistantError):
    """The reading model's files are missing or damaged."""


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on one question's sentences."""

    logit: np.ndarray  # per sentence: log-odds that it answers the question
    span: tuple[tuple[int, int] | None, ...]  # per sentence: the answer's characters in it, or None
    span_score: np.ndarray  # per sentence: start + end logit of that span


class Reader:
    """onnxruntime over the exported reader; the session is made on first use."""

    def __init__(self, folder: Path, meta: dict[str, Any], threads: int = 0):
        self.folder = Path(folder)
        self.meta = meta
        self.max_len = int(meta.get("max_len", 64))
        self.threads = threads
        self._session = None
        self._tokenizer = None
        # (question, title, sentence) -> (logit, span, span score): a question's sentences are
        # read once, whoever asks (ranking, the answer span, training's fold evaluation)
        self._memo: OrderedDict[tuple[str, str, str], tuple[float, tuple[int, int] | None, float]] = OrderedDict()

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "reader"))

    def describe(self) -> dict[str, Any]:
        """What eval reports record about the reader."""
        return {"name": self.name, "sha256": self.meta.get("sha256", ""), "layers": self.meta.get("layers"),
                "max_len": self.max_len, "trained_on": self.meta.get("trained_on", []), "format": FORMAT}

    def _load(self):
        if self._session is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            opts = ort.SessionOptions()
            if self.threads:
                opts.intra_op_num_threads = self.threads
            opts.log_severity_level = 3
            try:
                tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                sess = ort.InferenceSession(str(self.folder / "reader.onnx"), opts,
                                            providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own types for damaged files
                raise ReaderError(f"The reading model in {self.folder}/ cannot be loaded ({str(e)[:120]}): "
                                  f"restore it with `git checkout -- {RESTORE}` or retrain it with {RETRAIN}.") from e
            tok.enable_truncation(max_length=self.max_len)
            tok.no_padding()
            self._tokenizer, self._session = tok, sess
        return self._tokenizer, self._session

    def read(self, question: str, items: Sequence[tuple[str, str]]) -> Reading:
        """Score (title, sentence) pairs for ``question`` (remembered: each pair is read once)."""
        keys = [(question, t, s) for t, s in items]
        todo = list(dict.fromkeys(k for k in keys if k not in self._memo))
        if todo:
            fresh = self._read(question, [(t, s) for _, t, s in todo])
            for i, k in enumerate(todo):
                self._memo[k] = (float(fresh.logit[i]), fresh.span[i], float(fresh.span_score[i]))
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        got = [self._memo[k] for k in keys]
        return Reading(np.array([g[0] for g in got], dtype=np.float64), tuple(g[1] for g in got),
                       np.array([g[2] for g in got], dtype=np.float64))

    def _read(self, question: str, items: Sequence[tuple[str, str]]) -> Reading:
        n = len(items)
        if n == 0:
            return Reading(np.zeros(0), (), np.zeros(0))
        tok, sess = self._load()
        prefixes = [f"{t}: " if t else "" for t, _ in items]
        encs = tok.encode_batch([(question, p + s) for p, (_, s) in zip(prefixes, items)])
        L = max(len(e.ids) for e in encs)
        ids = np.zeros((n, L), np.int64)
        mask = np.zeros((n, L), np.int64)
        types = np.zeros((n, L), np.int64)
        for i, e in enumerate(encs):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
            types[i, :len(e.ids)] = e.type_ids
        logit, start, end = sess.run(["logit", "start", "end"],
                                     {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        spans, scores = [], np.zeros(n)
        for i, e in enumerate(encs):
            span, score = _best_span(e, start[i], end[i], len(prefixes[i]), len(items[i][1]))
            spans.append(span)
            scores[i] = score
        return Reading(np.asarray(logit, dtype=np.float64).reshape(n), tuple(spans), scores)


def _best_span(enc, start: np.ndarray, end: np.ndarray, skip: int, length: int) -> tuple[tuple[int, int] | None, float]:
    """The best (start ≤ end) span of the sentence's own tokens (after the title prefix),
    as character offsets into the sentence."""
    idx = [j for j, (sid, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets))
           if sid == 1 and b > a and a >= skip]
    if not idx:
        return None, float("-inf")
    s = start[idx]
    e = end[idx]
    best, arg = float("-inf"), None
    for x in range(len(idx)):
        hi = min(len(idx), x + MAX_SPAN_TOKENS)
        y = x + int(np.argmax(e[x:hi]))
        v = float(s[x] + e[y])
        if v > best:
            best, arg = v, (x, y)
    x, y = arg
    a = enc.offsets[idx[x]][0] - skip
    b = enc.offsets[idx[y]][1] - skip
    a, b = max(0, a), min(length, b)
    return ((a, b) if b > a else None), best


def load_reader(folder: str | Path | None = None, threads: int = 0) -> Reader:
    """Check the reader's files (manifest, checksums) and return a lazily started Reader,
    or raise ReaderError naming the fix."""
    folder = Path(folder) if folder is not None else DEFAULT_DIR
    meta_path = folder / "reader.json"
    files = ("reader.onnx", "tokenizer.json")
    if not meta_path.is_file() or not all((folder / f).is_file() for f in files):
        raise ReaderError(f"The reading model is missing from {folder}/ (reader.json, reader.onnx, tokenizer.json): "
                          f"restore it with `git checkout -- {RESTORE}` or retrain it with {RETRAIN}.")
    try:
        raw = meta_path.read_bytes()
        meta = json.loads(raw.decode("utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("reader.json is not an object")
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, this version reads {FORMAT}")
        digest = hashlib.sha256(raw)
        for f in files:
            data = (folder / f).read_bytes()
            if hashlib.sha256(data).hexdigest() != meta.get("sha256_files", {}).get(f):
                raise ValueError(f"{f} does not match the checksum in reader.json")
            digest.update(data)
    except (OSError, ValueError, TypeError, UnicodeDecodeError) as e:
        raise ReaderError(f"The reading model in {folder}/ is damaged ({str(e)[:120]}): restore it with "
                          f"`git checkout -- {RESTORE}` or retrain it with {RETRAIN}.") from e
    meta = dict(meta, sha256=digest.hexdigest()[:16])
    return Reader(folder, meta, threads)


__all__ = ["Reader", "ReaderError", "Reading", "load_reader"]
