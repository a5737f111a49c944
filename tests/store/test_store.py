"""Index stage: manifest, atomic writes, incremental re-indexing, refusing bad indexes."""
import json
import shutil

import pytest

from assistant.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from assistant.settings import Settings
from assistant.store.build import build_index
from assistant.store.index import FORMAT_VERSION, load_index, prune, read_manifest


def build(corpus, index, enc, **kw):
    return build_index(corpus, index, Settings(**kw), encoder=enc, progress=False)


def test_build_writes_manifest_and_loads(seed_corpus, tmp_path, hash_encoder):
    r = build(seed_corpus, tmp_path / "ix", hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged) == (2, 0, 0, 0)
    m = read_manifest(tmp_path / "ix")
    assert m["model"] == "hash-encoder" and m["dim"] == 256 and m["format_version"] == FORMAT_VERSION
    assert m["settings"]["chunk_tokens"] == Settings().chunk_tokens
    assert set(m["articles"]) == {"kaechon-rock-drills", "musan-mine"}
    assert all(len(a["hash"]) == 64 for a in m["articles"].values())
    stored = load_index(tmp_path / "ix")
    assert len(stored.chunks) == stored.faiss_index.ntotal == r.chunks
    for c in stored.chunks:
        assert stored.articles[c.doc_id].text[c.start : c.end] == c.text
    # one vector per distinct sentence of the chunks
    assert len(stored.sentences) == len(set(stored.sentences)) == len(stored.sentence_vectors) > len(stored.chunks)
    assert {d for d, _, _ in stored.sentences} == set(stored.articles)
    assert not list((tmp_path / "ix").glob("*.pkl"))


def test_reindex_unchanged_embeds_nothing(seed_corpus, tmp_path, hash_encoder):
    build(seed_corpus, tmp_path / "ix", hash_encoder)
    calls = hash_encoder.calls
    r = build(seed_corpus, tmp_path / "ix", hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged, r.embedded_chunks) == (0, 0, 0, 2, 0)
    assert hash_encoder.calls == calls


def test_unchanged_corpus_never_creates_the_model(seed_corpus, tmp_path, hash_encoder):
    build(seed_corpus, tmp_path / "ix", hash_encoder)

    def factory():
        raise AssertionError("the model must not be loaded when nothing changed")

    r = build_index(seed_corpus, tmp_path / "ix", Settings(model="hash-encoder"), encoder_factory=factory, progress=False)
    assert r.unchanged == 2 and r.embedded_chunks == 0


def test_incremental_add_change_remove(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    before = load_index(ix)
    kaechon_rows = [c for c in before.chunks if c.doc_id == "kaechon-rock-drills"]
    (seed_corpus / "new.txt").write_text("A new article about tungsten mining in Chongjin. It is short.", encoding="utf-8")
    (seed_corpus / "musan-mine.txt").write_text("Musan Mine changed. Only this text remains now.", encoding="utf-8")
    (seed_corpus / "kaechon-rock-drills.txt").rename(seed_corpus / "gone.md")
    r = build(seed_corpus, ix, hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged) == (2, 1, 1, 0)
    (seed_corpus / "gone.md").rename(seed_corpus / "kaechon-rock-drills.txt")
    (seed_corpus / "new.txt").unlink()
    r = build(seed_corpus, ix, hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged) == (1, 0, 2, 1)
    assert r.embedded_chunks == len(kaechon_rows)  # only the re-added article
    after = load_index(ix)
    assert set(after.articles) == {"kaechon-rock-drills", "musan-mine"}
    assert "Only this text remains" in after.articles["musan-mine"].text
    # `before` still holds the first generation: kept; once let go it is removed, the previous one stays
    assert len(list(ix.glob("data-*"))) == 3
    before.close()
    prune(ix)
    assert len(list(ix.glob("data-*"))) == 2


class Boom(Exception):
    pass


def test_failed_build_leaves_previous_index_usable(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    manifest = (ix / "manifest.json").read_text()
    (seed_corpus / "musan-mine.txt").write_text("Changed text that will never be indexed.", encoding="utf-8")

    class Failing(type(hash_encoder)):
        def encode(self, texts):
            raise Boom("power cut")

    with pytest.raises(Boom):
        build(seed_corpus, ix, Failing())
    assert (ix / "manifest.json").read_text() == manifest
    stored = load_index(ix)
    assert "20,000" in stored.articles["musan-mine"].text


def test_interrupted_write_leaves_previous_index_usable(seed_corpus, tmp_path, hash_encoder, monkeypatch):
    """Killed while writing the data files (after embedding): the old manifest still rules."""
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    manifest = (ix / "manifest.json").read_text()
    (seed_corpus / "extra.txt").write_text("An extra article about coal exports.", encoding="utf-8")
    import assistant.store.index as store

    def die(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_write_json_atomic", die)
    with pytest.raises(KeyboardInterrupt):
        build(seed_corpus, ix, hash_encoder)
    monkeypatch.undo()
    assert (ix / "manifest.json").read_text() == manifest
    assert set(load_index(ix).articles) == {"kaechon-rock-drills", "musan-mine"}
    r = build(seed_corpus, ix, hash_encoder)  # the next build recovers and cleans up
    assert r.added == 1
    gens = {p.name for p in ix.glob("data-*")}
    assert read_manifest(ix)["data_dir"] in gens and len(gens) == 2  # the new one and the previous one
    assert not list(ix.glob(".building-*")) and not list(ix.glob(".manifest-*"))


def test_missing_index(tmp_path):
    with pytest.raises(IndexNotFoundError, match="assistant index"):
        load_index(tmp_path / "nowhere")


def test_corrupt_and_partial_index(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    data = ix / read_manifest(ix)["data_dir"]
    (data / "chunks.npy").write_text("garbage")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_index(ix)
    shutil.rmtree(data)
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_index(ix)
    (ix / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="assistant index"):
        load_index(ix)


def test_other_format_or_model_is_refused(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    with pytest.raises(IndexMismatchError, match="--model"):
        load_index(ix, expect_model="all-MiniLM-L6-v2")
    m = json.loads((ix / "manifest.json").read_text())
    m["format_version"] = 99
    (ix / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="assistant index"):
        load_index(ix)


def test_hnsw_index_type(seed_corpus, tmp_path, hash_encoder):
    build(seed_corpus, tmp_path / "ix", hash_encoder, index_type="hnsw")
    stored = load_index(tmp_path / "ix")
    assert type(stored.faiss_index).__name__ == "IndexHNSWFlat"
    assert stored.faiss_index.ntotal == len(stored.chunks)


# --- one writer at a time; readers never lose the generation they open ------------------

def test_second_build_waits_for_the_first_then_finds_the_work_done(seed_corpus, tmp_path, hash_encoder):
    import threading

    ix = tmp_path / "ix"
    started, release = threading.Event(), threading.Event()

    class Slow(type(hash_encoder)):
        def encode(self, texts):
            started.set()
            assert release.wait(30)
            return super().encode(texts)

    results, errors, logs = {}, [], []

    def run(name, enc):
        try:
            results[name] = build_index(seed_corpus, ix, Settings(), encoder=enc, progress=False, log=logs.append)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    first = threading.Thread(target=run, args=("first", Slow()))
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=run, args=("second", type(hash_encoder)()))
    second.start()
    for _ in range(300):  # the second build says it waits, and does
        if logs:
            break
        second.join(0.05)
    assert any("another build is running" in m and "waiting" in m for m in logs), logs
    assert second.is_alive() and "second" not in results
    release.set()
    first.join(30)
    second.join(30)
    assert not errors, errors
    assert results["first"].added == 2
    assert (results["second"].added, results["second"].unchanged) == (0, 2)  # ran after the first
    assert set(load_index(ix).articles) == {"kaechon-rock-drills", "musan-mine"}


def test_a_build_in_another_process_is_waited_for(seed_corpus, tmp_path, hash_encoder):
    import subprocess
    import sys

    ix = tmp_path / "ix"
    released = tmp_path / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from assistant.store.index import index_lock\n"
         f"with index_lock({str(ix)!r}):\n    print('locked', flush=True); time.sleep(1.5)\n"
         f"    Path({str(released)!r}).write_text('x')"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        logs = []
        r = build_index(seed_corpus, ix, Settings(), encoder=hash_encoder, progress=False, log=logs.append)
        assert released.exists(), "the build must not run while the other process holds the lock"
        assert r.added == 2 and any("another build is running" in m for m in logs)
    finally:
        holder.kill()
        holder.wait()


def test_cleanup_keeps_the_previous_generation_and_removes_dead_builds(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    first = read_manifest(ix)["data_dir"]
    (seed_corpus / "a.txt").write_text("An article about coal exports from Nampo.", encoding="utf-8")
    build(seed_corpus, ix, hash_encoder)
    second = read_manifest(ix)["data_dir"]
    assert {p.name for p in ix.glob("data-*")} == {first, second}  # a reader may still be opening `first`
    (seed_corpus / "b.txt").write_text("An article about tungsten in Chongjin.", encoding="utf-8")
    build(seed_corpus, ix, hash_encoder)
    third = read_manifest(ix)["data_dir"]
    assert {p.name for p in ix.glob("data-*")} == {second, third}
    # a dead build's leftovers go at the next build, even one with nothing to do
    (ix / ".building-dead1234").mkdir()
    (ix / ".building-dead1234" / "vectors.faiss").write_bytes(b"partial")
    (ix / ".manifest-dead").write_text("{")
    r = build(seed_corpus, ix, hash_encoder)
    assert r.unchanged == 4 and r.embedded_chunks == 0
    assert not list(ix.glob(".building-*")) and not list(ix.glob(".manifest-*"))
    assert {p.name for p in ix.glob("data-*")} == {second, third}


def test_leftovers_of_a_live_build_are_not_touched_by_readers(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    (ix / ".building-live").mkdir()
    load_index(ix)
    from assistant.engine import Assistant

    Assistant.open(ix, Settings(), encoder=hash_encoder)
    assert (ix / ".building-live").is_dir()


def test_load_retries_once_when_the_generation_moved(seed_corpus, tmp_path, hash_encoder, monkeypatch):
    """A reader that read the manifest just before two builds committed finds its
    generation gone; it re-reads the manifest and loads the new one."""
    import assistant.store.index as store

    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    real = store._load_generation
    calls = []

    def builds_in_between(root, manifest, *args):
        if not calls or calls[-1] != "building":
            calls.append(manifest["data_dir"])
        if len(calls) == 1:
            calls.append("building")  # the builds below load the index too: not counted
            for name in ("x", "y"):
                (seed_corpus / f"{name}.txt").write_text(f"Article {name} about mining.", encoding="utf-8")
                build(seed_corpus, ix, hash_encoder)
            calls.remove("building")
            assert not (ix / manifest["data_dir"]).exists()
        return real(root, manifest, *args)

    monkeypatch.setattr(store, "_load_generation", builds_in_between)
    stored = store.load_index(ix)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert {"x", "y"} <= set(stored.articles)


def test_damaged_index_that_did_not_move_is_not_retried(seed_corpus, tmp_path, hash_encoder, monkeypatch):
    import assistant.store.index as store

    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    (ix / read_manifest(ix)["data_dir"] / "chunks.npy").write_text("garbage")
    calls = []
    real = store._load_generation
    monkeypatch.setattr(store, "_load_generation", lambda *a: calls.append(1) or real(*a))
    with pytest.raises(IndexCorruptError, match="rebuild"):
        store.load_index(ix)
    assert len(calls) == 1


@pytest.mark.parametrize("damage", [
    lambda m: m.update(files=[1]),
    lambda m: m.update(data_dir="../../etc"),
    lambda m: m.update(articles={"musan-mine": 3}),
    lambda m: m.update(dim="many"),
])
def test_manifest_that_parses_but_is_wrong_is_refused_and_rebuilt_over(seed_corpus, tmp_path, hash_encoder, damage):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    m = json.loads((ix / "manifest.json").read_text())
    damage(m)
    (ix / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_index(ix)
    r = build(seed_corpus, ix, hash_encoder)
    assert r.added == 2
    assert set(load_index(ix).articles) == {"kaechon-rock-drills", "musan-mine"}


def test_chunk_row_naming_an_unknown_article_is_refused_and_rebuilt_over(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    import hashlib

    import numpy as np

    data = ix / read_manifest(ix)["data_dir"]
    rows = np.load(data / "chunks.npy")
    rows[0, 0] = 99  # no such article
    np.save(data / "chunks.npy", rows)
    m = json.loads((ix / "manifest.json").read_text())
    m["files"]["chunks.npy"] = hashlib.sha256((data / "chunks.npy").read_bytes()).hexdigest()  # the checksum agrees
    (ix / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexCorruptError, match="unknown article"):
        load_index(ix)
    assert build(seed_corpus, ix, hash_encoder).added == 2


def test_index_path_that_is_a_file_or_read_only(seed_corpus, tmp_path, hash_encoder):
    import os

    from assistant.errors import IndexWriteError

    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(IndexWriteError, match="is a file"):
        build(seed_corpus, f, hash_encoder)
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    before = (ix / "manifest.json").read_text()
    (seed_corpus / "new.txt").write_text("A new article about coal.", encoding="utf-8")
    os.chmod(ix, 0o555)
    try:
        if os.access(ix, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable (see the full-disk test)")
        with pytest.raises(IndexWriteError, match="writable"):
            build(seed_corpus, ix, hash_encoder)
    finally:
        os.chmod(ix, 0o755)
    assert (ix / "manifest.json").read_text() == before


@pytest.mark.parametrize("errno_", [28, 30])
def test_full_or_read_only_disk_while_writing(seed_corpus, tmp_path, hash_encoder, monkeypatch, errno_):
    import os

    import numpy as np

    from assistant.errors import IndexWriteError

    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    before = (ix / "manifest.json").read_text()
    (seed_corpus / "new.txt").write_text("A new article about coal.", encoding="utf-8")

    def fail(*a, **k):
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(IndexWriteError, match=os.strerror(errno_)):
        build(seed_corpus, ix, hash_encoder)
    monkeypatch.undo()
    assert (ix / "manifest.json").read_text() == before
    assert not list(ix.glob(".building-*"))
    assert set(load_index(ix).articles) == {"kaechon-rock-drills", "musan-mine"}


def test_a_build_never_removes_a_generation_a_process_holds(seed_corpus, tmp_path, hash_encoder):
    """An open index holds a lease on its generation: two later builds keep it on disk (its
    texts stay readable), and once it is let go the next build or prune removes it."""
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    held = load_index(ix)
    gen = held.generation
    for name in ("x", "y", "z"):
        (seed_corpus / f"{name}.txt").write_text(f"Article {name} about mining.", encoding="utf-8")
        build(seed_corpus, ix, hash_encoder)
    assert (ix / gen).is_dir()
    assert "Musan" in held.articles["musan-mine"].text  # read from disk now, not from a cache
    assert len(list(ix.glob("data-*"))) == 3  # the held one, the current one and the previous one
    held.close()
    (seed_corpus / "w.txt").write_text("Article w about mining.", encoding="utf-8")
    build(seed_corpus, ix, hash_encoder)
    assert not (ix / gen).exists() and len(list(ix.glob("data-*"))) == 2


def test_a_lease_held_by_another_process_keeps_the_generation(seed_corpus, tmp_path, hash_encoder):
    import subprocess
    import sys

    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    gen = read_manifest(ix)["data_dir"]
    code = ("import sys; from assistant.store.index import load_index; s = load_index(sys.argv[1]); "
            "print('open', flush=True); sys.stdin.read()")
    reader = subprocess.Popen([sys.executable, "-c", code, str(ix)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        for name in ("x", "y"):
            (seed_corpus / f"{name}.txt").write_text(f"Article {name} about mining.", encoding="utf-8")
            build(seed_corpus, ix, hash_encoder)
        assert (ix / gen).is_dir()
    finally:
        reader.kill()  # the kernel drops its lease
        reader.wait()
    prune(ix)
    assert not (ix / gen).exists()


def test_a_generation_being_removed_is_not_opened(seed_corpus, tmp_path, hash_encoder):
    """A reader whose lease file was removed under it (a build took it between the
    reader's open and lock) reports the generation gone instead of reading half a folder."""
    import fcntl
    import os

    import assistant.store.index as store

    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    folder = ix / read_manifest(ix)["data_dir"]
    fd = os.open(folder / store.LEASE, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a build holds while it removes the folder
    try:
        with pytest.raises(IndexCorruptError, match="removed"):
            store._lease(folder)
    finally:
        os.close(fd)
    assert store._lease(folder).held


class _FullDisk:
    """``open`` for store.py on a disk with ``room`` bytes left: buffered writes fail with
    ENOSPC when the buffer is flushed, as on a real full disk (so closing fails too)."""

    def __init__(self, room: int):
        self.room = room

    def __call__(self, path, mode="r", *args, **kwargs):
        import builtins
        import io

        if "w" not in mode or "b" not in mode:
            return builtins.open(path, mode, *args, **kwargs)
        disk = self

        class Raw(io.FileIO):
            def write(self, b):
                import errno
                import os

                if len(b) > disk.room:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                disk.room -= len(b)
                return super().write(b)

        return io.BufferedWriter(Raw(path, "w"), buffer_size=8192)


@pytest.mark.parametrize("room", [0, 100, 9000, 50_000, 200_000])
def test_full_disk_at_any_fill_level_is_one_error_and_leaves_nothing_behind(seed_corpus, tmp_path, hash_encoder,
                                                                         monkeypatch, room):
    import assistant.store.index as store
    from assistant.errors import IndexWriteError

    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    before = (ix / "manifest.json").read_text()
    for i in range(30):
        (seed_corpus / f"new{i}.txt").write_text(f"New article {i} about coal exports. " * 200, encoding="utf-8")
    monkeypatch.setattr(store, "open", _FullDisk(room), raising=False)
    with pytest.raises(IndexWriteError, match="No space left on device"):
        build(seed_corpus, ix, hash_encoder)
    monkeypatch.undo()
    assert (ix / "manifest.json").read_text() == before
    assert not list(ix.glob(".building-*"))
    assert set(load_index(ix).articles) == {"kaechon-rock-drills", "musan-mine"}
