"""Embed: texts → L2-normalised vectors, behind one small interface.

- ``encoder``: the ``Encoder`` interface (``encode``, ``count_tokens``, ``encode_spans``) and helpers both runtimes share.
- ``torch_runtime``: the reference sentence-transformers encoder (``SentenceTransformerEncoder``).
- ``onnx_runtime``: the same model on onnxruntime, no torch at question time (``OnnxEncoder``, ``export``).
- ``factory``: picks and makes one (``load_encoder``, ``encoder_from_settings``, ``onnx_ready``).

Imports only the shared top-level modules (errors, settings); torch is imported when a model is loaded."""

__all__ = ["encoder", "factory", "onnx_runtime", "torch_runtime"]
