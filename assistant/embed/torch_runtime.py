"""The reference runtime: a sentence-transformers model on torch (loaded on first use,
never at import time)."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..errors import ModelError
from ..settings import DEFAULT_MODEL
from .encoder import normalise


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
        vecs = normalise(np.stack([o["sentence_embedding"].float().cpu().numpy() for o in outs]))
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
            span_vecs.append(normalise(np.array(rows, dtype=np.float32).reshape(-1, self.dim)))
        return vecs, span_vecs

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        tok = self._model.tokenizer
        enc = tok(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]


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
