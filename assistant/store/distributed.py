"""Chunking and embedding on a Ray cluster (the optional ``scale`` extra).

``ray_embedder(address)`` returns an ``ArticleEmbedder`` for ``build_index``: the new or
changed articles go through Ray Data ``map_batches`` to a pool of actors, each loading
the encoder once, and the chunks and vectors come back to this process, which writes
them, batch by batch in the articles' order, through the same streaming writer and atomic,
incremental commit as a plain build. Actors that die
are restarted and their batches retried by Ray; a build that still fails raises, and the
previous index stays in place. Ray is imported only here, only when a build uses it."""
from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import AssistantError
from ..settings import Settings
from ..types import Article, Chunk
from .build import Embedded, embed_articles

ARTICLES_PER_BATCH = 4  # one actor call; progress advances by batches
# Ray runs workers 15 nice levels below the process that started the cluster, which keeps a
# dedicated node's control plane responsive but starves them on a shared machine: on a local
# cluster the encoder actors are the work, so they run at the priority of `assistant index`.
LOCAL_CLUSTER_CONFIG = {"worker_niceness": 0}


class _ChunkEmbed:
    """A Ray actor: loads the encoder once, then chunks and embeds batches of articles.
    One output row per batch: its chunks and sentences, their vectors as raw bytes."""

    def __init__(self, settings: dict, encoder_factory: Callable[[], Any] | None = None):
        from ..embed.factory import encoder_from_settings

        self.settings = Settings(**settings)
        # one inference thread per CPU Ray gave the actor (torch reads OMP_NUM_THREADS, which Ray sets)
        threads = max(1, int(os.environ.get("OMP_NUM_THREADS") or 1))
        self.encoder = encoder_factory() if encoder_factory else encoder_from_settings(self.settings, threads=threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        articles = [Article(str(d), str(t), str(x), json.loads(str(m)))
                    for d, t, x, m in zip(batch["doc_id"], batch["title"], batch["text"], batch["metadata"])]
        e = embed_articles(self.encoder, articles, self.settings)
        return {
            "articles": [len(articles)],
            "chunks": [json.dumps([[c.doc_id, c.start, c.end] for c in e.chunks])],
            "vectors": [np.ascontiguousarray(e.vectors, dtype=np.float32).tobytes()],
            "sentences": [json.dumps(e.sentences)],
            "sentence_vectors": [np.ascontiguousarray(e.sentence_vectors, dtype=np.float32).tobytes()],
            "dim": [e.dim],
            "max_tokens": [e.max_tokens],
            "pid": [os.getpid()],
        }


def _actor_class(settings: dict, encoder_factory):
    """The actor class with its arguments built in: shipped with the class definition,
    not as objects in the object store (which a restarted actor could find gone)."""

    class ChunkEmbed(_ChunkEmbed):
        def __init__(self):
            super().__init__(settings, encoder_factory)

    return ChunkEmbed


def connect(address: str, log: Callable[[str], None] | None = None):
    """Join the Ray cluster at ``address`` (``auto``: the one running on this machine, or a
    new local one). A session already started in this process (ray.init) is reused."""
    try:
        import ray
    except ImportError as e:
        raise AssistantError("--ray needs the scale extra: run `pip install -e '.[scale]'`.") from e
    if address != "auto":
        _reachable(address)
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if ray.is_initialized():
        return ray
    try:
        if address == "auto":
            try:
                ray.init(address="auto", log_to_driver=False)
            except ConnectionError:
                if log:
                    log("no Ray cluster running on this machine: starting a local one")
                ray.init(include_dashboard=False, log_to_driver=False, _system_config=LOCAL_CLUSTER_CONFIG)
        else:
            ray.init(address=address, log_to_driver=False)
    except Exception as e:  # noqa: BLE001 - any connection failure becomes one line
        raise AssistantError(
            f"Could not connect to the Ray cluster at {address!r} ({type(e).__name__}: {str(e)[:160]}): "
            "start one with `ray start --head`, pass its address (host:6379 or ray://host:10001), or use --ray auto."
        ) from e
    return ray


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an address nothing listens on (Ray itself retries for minutes)."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise AssistantError(f"--ray takes auto or a cluster address host:port (e.g. head-node:6379 or "
                             f"ray://head-node:10001), not {address!r}.")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise AssistantError(
            f"No Ray cluster answers at {address} ({e.strerror or type(e).__name__}): start one with "
            "`ray start --head` on that node, check the address, or use --ray auto for a local cluster."
        ) from e


def ray_embedder(address: str = "auto", workers: int | None = None, articles_per_batch: int = ARTICLES_PER_BATCH,
                 encoder_factory: Callable[[], Any] | None = None, log: Callable[[str], None] | None = None,
                 on_batch: Callable[[int, int, int], None] | None = None):
    """An ``ArticleEmbedder`` running on Ray. ``workers``: actors in the pool (default: one
    per CPU of the cluster). ``encoder_factory`` (picklable) replaces the settings' encoder
    in the actors (tests). ``on_batch(done, total, worker_pid)`` is called as batches complete."""

    def run(articles: Sequence[Article], settings: Settings, progress: bool) -> Iterator[Embedded]:
        ray = connect(address, log)
        import ray.data

        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # ours below counts articles
        ctx.print_on_execution_start = False
        ctx.execution_options.preserve_order = True  # results in the articles' order: the plain build's rows
        blocks = max(1, -(-len(articles) // articles_per_batch))
        n = min(blocks, workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        by_id = {a.doc_id: a for a in articles}
        rows = [{"doc_id": a.doc_id, "title": a.title, "text": a.text, "metadata": json.dumps(dict(a.metadata))}
                for a in articles]
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _actor_class(asdict(settings), encoder_factory),
            batch_size=articles_per_batch,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=n),
            num_cpus=1,  # Ray's default retries: a dead actor is restarted and its batch re-run
        )
        if log:
            log(f"embedding {len(rows)} articles on Ray: {n} workers, {articles_per_batch} articles a batch")
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(rows), desc="embedding on Ray", unit="article", file=sys.stderr)
        done = 0
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                for i in range(len(batch["articles"])):
                    done += int(batch["articles"][i])
                    yield _piece(batch, i, by_id)
                    if bar:
                        bar.update(int(batch["articles"][i]))
                    if on_batch:
                        on_batch(done, len(rows), int(batch["pid"][i]))
        except Exception as e:  # noqa: BLE001 - a failed Ray job is one line; the previous index stays
            raise AssistantError(
                f"The Ray build failed ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}); "
                "the previous index is unchanged: re-run `assistant index`, with or without --ray."
            ) from e
        finally:
            if bar:
                bar.close()
        if done != len(rows):
            raise AssistantError(f"The Ray build returned {done} of {len(rows)} articles: "
                                 "the previous index is unchanged; re-run `assistant index`.")

    return run


def _piece(batch: dict[str, np.ndarray], i: int, by_id: dict[str, Article]) -> Embedded:
    """Row ``i`` of a result batch as an ``Embedded`` (chunk texts cut from the articles here)."""
    dim = int(batch["dim"][i])
    chunks = [Chunk(d, s, e, by_id[d].text[s:e]) for d, s, e in json.loads(str(batch["chunks"][i]))]
    sentences = [(d, s, e) for d, s, e in json.loads(str(batch["sentences"][i]))]
    vectors = np.frombuffer(bytes(batch["vectors"][i]), dtype=np.float32).reshape(-1, dim)
    sentence_vectors = np.frombuffer(bytes(batch["sentence_vectors"][i]), dtype=np.float32).reshape(-1, dim)
    return Embedded(chunks, vectors, sentences, sentence_vectors, dim, int(batch["max_tokens"][i]))
