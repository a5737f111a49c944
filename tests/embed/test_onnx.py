"""The torch-free runtime: the ONNX export matches sentence-transformers, indexes are
interchangeable between the two runtimes, and a question loads neither torch nor
sentence-transformers once the export is ready."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from assistant.embed import onnx_runtime as embed_onnx
from assistant.embed.factory import load_encoder, resolve_model_path
from assistant.embed.torch_runtime import SentenceTransformerEncoder, load_sentence_transformer
from assistant.engine import Assistant
from assistant.evaluation.sets import load_eval_file
from assistant.settings import Settings
from assistant.store.build import build_index
from tests.fakes import ROOT, SEED_CORPUS

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def torch_encoder():
    return load_encoder(backend="torch")


@pytest.fixture(scope="module")
def onnx_encoder(torch_encoder):
    return load_encoder(backend="onnx")


def test_backends_are_what_they_say(onnx_encoder, torch_encoder):
    assert isinstance(onnx_encoder, embed_onnx.OnnxEncoder)
    assert isinstance(torch_encoder, SentenceTransformerEncoder)
    assert onnx_encoder.name == torch_encoder.name and onnx_encoder.dim == torch_encoder.dim
    assert onnx_encoder.max_tokens == torch_encoder.max_tokens


def test_onnx_vectors_match_sentence_transformers(onnx_encoder, torch_encoder):
    texts = [a.read_text(encoding="utf-8")[i : i + 700] for a in sorted(SEED_CORPUS.glob("*.txt")) for i in range(0, 3000, 500)]
    assert embed_onnx.check_against(onnx_encoder, torch_encoder, texts) >= embed_onnx.MIN_COSINE
    assert embed_onnx.check_against(onnx_encoder, torch_encoder) >= embed_onnx.MIN_COSINE
    # late chunking: sentence spans pooled in context agree too
    text = texts[0]
    spans = [[(0, 40), (40, 200), (200, len(text))]]
    (va, [sa]), (vb, [sb]) = onnx_encoder.encode_spans([text], spans), torch_encoder.encode_spans([text], spans)
    assert np.min(np.sum(sa * sb, axis=1)) >= embed_onnx.MIN_COSINE
    assert onnx_encoder.count_tokens(texts) == torch_encoder.count_tokens(texts)


def test_export_is_cached_by_model_hash_and_verified(onnx_encoder):
    path = resolve_model_path("all-MiniLM-L6-v2")
    folder = embed_onnx.export_dir(path, embed_onnx.default_cache_dir()) if not os.environ.get("ASSISTANT_ONNX_CACHE") \
        else embed_onnx.export_dir(path, os.environ["ASSISTANT_ONNX_CACHE"])
    check = json.loads((folder / "verified.json").read_text())
    assert check["min_cosine"] >= embed_onnx.MIN_COSINE and check["opset"] == 17
    assert folder.name == embed_onnx.fingerprint(path)  # the memo gives the same key as a full hash


def test_a_failed_check_leaves_nothing_usable(tmp_path, torch_encoder, monkeypatch):
    monkeypatch.setattr(embed_onnx, "check_against", lambda a, b: 0.5)
    path = resolve_model_path("all-MiniLM-L6-v2")
    with pytest.raises(Exception, match="differs from sentence-transformers"):
        embed_onnx.export(path, tmp_path, "all-MiniLM-L6-v2", reference=torch_encoder)
    assert not embed_onnx.is_ready(embed_onnx.export_dir(path, tmp_path))
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def _answers(engine, questions):
    out = []
    for q in questions:
        a = engine.ask(q.question)
        out.append((a.text, a.abstained, [(c.doc_id, c.start, c.end) for c in a.citations],
                    [(h.chunk.doc_id, h.chunk.start) for h in a.hits]))
    return out


@pytest.mark.parametrize("built_with", ["torch", "onnx"])
def test_an_index_built_with_one_backend_answers_identically_with_the_other(tmp_path, built_with, onnx_encoder, torch_encoder):
    encoders = {"torch": torch_encoder, "onnx": onnx_encoder}
    build_index(SEED_CORPUS, tmp_path / "ix", Settings(), encoder=encoders[built_with], progress=False)
    questions = load_eval_file(ROOT / "eval" / "seed_questions.jsonl").questions
    with_onnx = _answers(Assistant.open(tmp_path / "ix", encoder=onnx_encoder), questions)
    with_torch = _answers(Assistant.open(tmp_path / "ix", encoder=torch_encoder), questions)
    assert len(with_onnx) == 44
    assert with_onnx == with_torch
    assert sum(not abstained for _, abstained, _, _ in with_onnx) > 30


def test_ask_imports_neither_torch_nor_sentence_transformers(tmp_path, onnx_encoder):
    build_index(SEED_CORPUS, tmp_path / "ix", Settings(), encoder=onnx_encoder, progress=False)
    code = (
        "import sys\n"
        "from assistant.cli import main\n"
        f"rc = main(['ask', 'How many people work at Musan Mine?', '--index', {str(tmp_path / 'ix')!r}, '--json'])\n"
        "print('LOADED', sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "20,000" in r.stdout
    assert "LOADED []" in r.stdout
