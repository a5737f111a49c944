"""Indexing on a real local Ray cluster (assistant/store/distributed.py): the result equals the
plain build, a killed worker is survived, a failed build leaves the previous index.
Marked ``ray``; ``make test`` installs the scale extra so CI runs them. A test that the
default paths never import Ray runs everywhere."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import AssistantError
from assistant.settings import Settings
from assistant.store.build import build_index
from assistant.store.index import load_index, read_manifest
from tests.fakes import HashEncoder

ROOT = Path(__file__).resolve().parent.parent.parent


def test_default_install_paths_never_import_ray(seed_corpus, tmp_path):
    code = f"""
import sys
from assistant.cli import main
from assistant.engine import Assistant
from assistant.settings import Settings
from assistant.store.build import build_index
from tests.fakes import HashEncoder
enc = HashEncoder()
build_index({str(seed_corpus)!r}, {str(tmp_path / 'ix')!r}, Settings(), encoder=enc, progress=False)
Assistant.open({str(tmp_path / 'ix')!r}, encoder=enc).ask("How many people work at Musan Mine?")
try:
    main(["index", "--help"])
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray.")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


ray = pytest.importorskip("ray", reason="the scale extra is not installed: pip install -e '.[scale]'")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster():
    """A real local cluster: 2 CPUs on 127.0.0.1, no dashboard; workers can import tests/."""
    if ray.is_initialized():
        ray.shutdown()
    from assistant.store.distributed import LOCAL_CLUSTER_CONFIG

    ray.init(num_cpus=2, include_dashboard=False, address="local", object_store_memory=200 * 2**20,
             _system_config=LOCAL_CLUSTER_CONFIG,
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}})
    yield ray
    ray.shutdown()


def embedder(**kw):
    from assistant.store.distributed import ray_embedder

    return ray_embedder("auto", **kw)


def make_corpus(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` distinct articles of random words (no two near-duplicates)."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(3000)]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sents = [" ".join(rng.choice(vocab, 12)).capitalize() + "." for _ in range(30)]
        (folder / f"article-{i:03d}.txt").write_text(f"# Article {i}\n\n" + " ".join(sents) + "\n")
    return folder


def assert_same_index(a_dir: Path, b_dir: Path, min_cosine: float = 0.9999):
    a, b = load_index(a_dir), load_index(b_dir)
    assert read_manifest(a_dir)["content_hash"] == read_manifest(b_dir)["content_hash"]
    assert [(c.doc_id, c.start, c.end) for c in a.chunks] == [(c.doc_id, c.start, c.end) for c in b.chunks]
    assert list(a.sentences) == list(b.sentences)
    rows = np.arange(len(a.chunks))
    cos = np.sum(a.chunk_vectors(rows) * b.chunk_vectors(rows), axis=1)
    assert cos.min() >= min_cosine, cos.min()
    scos = np.sum(np.asarray(a.sentence_vectors, np.float32) * np.asarray(b.sentence_vectors, np.float32), axis=1)
    assert scos.min() >= min_cosine - 1e-3, scos.min()  # stored as float16


def test_ray_build_equals_plain_build_and_updates_incrementally(cluster, seed_corpus, tmp_path):
    settings = Settings(model=HashEncoder.name)
    build_index(seed_corpus, tmp_path / "plain", settings, encoder=HashEncoder(), progress=False)
    batches = []
    r = build_index(seed_corpus, tmp_path / "ray", settings, progress=False,
                    embedder=embedder(encoder_factory=HashEncoder, articles_per_batch=1,
                                      on_batch=lambda done, total, pid: batches.append((done, total))))
    assert r.added == 2 and r.embedded_chunks == r.chunks
    assert batches == [(1, 2), (2, 2)]  # progress as each batch completes
    assert_same_index(tmp_path / "plain", tmp_path / "ray")
    # an added article: only it goes to the cluster
    (seed_corpus / "extra.txt").write_text("Musan Mine exports iron ore concentrate to China by rail.\n")
    build_index(seed_corpus, tmp_path / "plain", settings, encoder=HashEncoder(), progress=False)
    batches.clear()
    r = build_index(seed_corpus, tmp_path / "ray", settings, progress=False,
                    embedder=embedder(encoder_factory=HashEncoder, articles_per_batch=1,
                                      on_batch=lambda done, total, pid: batches.append((done, total))))
    assert (r.added, r.unchanged) == (1, 2) and batches == [(1, 1)]
    assert_same_index(tmp_path / "plain", tmp_path / "ray")


@pytest.mark.model
def test_ray_build_of_the_seed_corpus_equals_plain_build_with_the_real_model(cluster, seed_corpus, tmp_path, real_encoder):
    build_index(seed_corpus, tmp_path / "plain", Settings(), encoder=real_encoder, progress=False)
    build_index(seed_corpus, tmp_path / "ray", Settings(), progress=False, embedder=embedder())
    assert_same_index(tmp_path / "plain", tmp_path / "ray")
    assert read_manifest(tmp_path / "ray")["model"] == read_manifest(tmp_path / "plain")["model"] == real_encoder.name


@pytest.mark.model
def test_ray_build_of_xquad_equals_plain_build_with_the_real_model(cluster, tmp_path, real_encoder):
    xquad = ROOT / "eval" / "data" / "xquad-en" / "xquad.en.json"
    build_index(xquad, tmp_path / "plain", Settings(), encoder=real_encoder, progress=False)
    r = build_index(xquad, tmp_path / "ray", Settings(), progress=False, embedder=embedder())
    assert r.added == 48 and r.chunks > 300
    assert_same_index(tmp_path / "plain", tmp_path / "ray")


def test_killed_worker_is_survived(cluster, tmp_path):
    from tests.ray_helpers import SlowHashEncoder

    corpus = make_corpus(tmp_path / "corpus", 12)
    settings = Settings(model=HashEncoder.name)
    build_index(corpus, tmp_path / "plain", settings, encoder=HashEncoder(), progress=False)
    killed = []

    def kill_first_worker(done, total, pid):
        if not killed:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    r = build_index(corpus, tmp_path / "ray", settings, progress=False,
                    embedder=embedder(encoder_factory=SlowHashEncoder, articles_per_batch=1, on_batch=kill_first_worker))
    assert killed and r.added == 12
    assert_same_index(tmp_path / "plain", tmp_path / "ray")


def test_failed_ray_build_leaves_the_previous_index(cluster, seed_corpus, tmp_path):
    from tests.ray_helpers import PoisonHashEncoder

    settings = Settings(model=HashEncoder.name)
    ix = tmp_path / "ix"
    build_index(seed_corpus, ix, settings, encoder=HashEncoder(), progress=False)
    before = (ix / "manifest.json").read_text()
    (seed_corpus / "bad.txt").write_text("This article carries POISON for the encoder.\n")
    with pytest.raises(AssistantError, match="previous index is unchanged"):
        build_index(seed_corpus, ix, settings, progress=False,
                    embedder=embedder(encoder_factory=PoisonHashEncoder, articles_per_batch=1))
    assert (ix / "manifest.json").read_text() == before
    stored = load_index(ix)
    assert {c.doc_id for c in stored.chunks} == {"kaechon-rock-drills", "musan-mine"}
    assert not list(ix.glob(".building-*"))
    json.loads(before)  # still a valid manifest


def test_cli_ray_errors_are_one_line(cluster, seed_corpus, tmp_path, capsys):
    from assistant.cli import main

    ix = str(tmp_path / "ix")
    assert main(["index", "--corpus", str(seed_corpus), "--index", ix, "--ray", "127.0.0.1:1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No Ray cluster answers at 127.0.0.1:1" in err and "--ray auto" in err
    assert main(["index", "--corpus", str(seed_corpus), "--index", ix, "--ray", "nonsense", "--quiet"]) == 2
    assert "host:port" in capsys.readouterr().err
    assert main(["index", "--corpus", str(seed_corpus), "--index", ix, "--ray", "auto", "--ray-workers", "0"]) == 2
    assert "--ray-workers must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "ix" / "manifest.json").exists()
