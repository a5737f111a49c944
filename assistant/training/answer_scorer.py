"""Train the answer scorer: ``python -m assistant.training.answer_scorer`` (or ``make train``).

Data: SQuAD 2.0 development questions in ``../shared/datasets/squad2-dev-a`` (answerable
and near-miss questions over 8 Wikipedia articles) and the project's own news sets in
``eval/train/``. Every question goes through the engine's own retrieval (the index is
built with the packaged model), every candidate sentence gets the features of
``assistant.answer.features``, and a sentence is labelled 1 when it contains a gold answer.

Models (``assistant.answer.scorer``): a gradient-boosted sentence ranker, and a logistic
answerability model over question-level summaries of the ranker's output. Everything is
measured by article-fold cross-validation (the held-out articles' questions never
train the model that answers them); the abstention threshold is chosen on those
held-out predictions; the final models are fitted on everything and written to
``models/answer-scorer/`` with a report and a model card."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
SQUAD2 = ROOT.parent / "shared" / "datasets" / "squad2-dev-a" / "squad2-dev-a.json"
NEWS_TRAIN = ROOT / "eval" / "train"
SEED = 20261128


@dataclass
class Collected:
    """Candidates of many questions: one feature row per candidate sentence."""

    X: np.ndarray  # (n_candidates, n_features)
    y: np.ndarray  # 1 when the sentence holds a gold answer
    qid: np.ndarray  # question index of each row
    answerable: np.ndarray  # per question
    group: np.ndarray  # per question: the article (fold unit)
    ids: list[str]  # per question


@dataclass(frozen=True)
class TrainQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    group: str  # the article: the unit of the cross-validation folds
    history: tuple[str, ...] = ()
    plausible: tuple[str, ...] = ()  # SQuAD 2.0: what a near-miss question was built to resemble


def squad_questions(path: Path) -> tuple[list, list[TrainQuestion]]:
    """The articles (via the corpus loader) and every question with its article."""
    from ..ingest.load import load_squad

    articles, _ = load_squad(path)
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    out = []
    for entry in data:
        group = str(entry["title"])
        for para in entry["paragraphs"]:
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible"))
                answers = () if impossible else tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                plausible = tuple(dict.fromkeys(a["text"] for a in qa.get("plausible_answers", [])))
                out.append(TrainQuestion(str(qa["id"]), qa["question"], answers, group, (), plausible))
    return articles, out


def collect(assistant, questions: Sequence[Any], k: int | None = None, progress: bool = True, batch: int = 64) -> Collected:
    """Retrieve and featurize every question through the engine (same path as ``ask``)."""
    from ..evaluation.metrics import answer_contains

    Xs, ys, qids, answerable, groups, ids = [], [], [], [], [], []
    k = k or assistant.settings.k
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(questions), desc="features", unit="q", file=sys.stderr, leave=False)
    for i in range(0, len(questions), batch):
        part = questions[i:i + batch]
        for j, (q, (found, cands, X)) in enumerate(zip(part, assistant.features_batch(
                [(q.question, list(q.history)) for q in part], k=k))):
            n = i + j
            texts = [assistant.articles[c.hit.chunk.doc_id].text[c.start:c.end] for c in cands]
            y = [1.0 if q.answers and answer_contains(t, q.answers) else 0.0 for t in texts]
            Xs.append(X)
            ys.extend(y)
            qids.extend([n] * len(cands))
            answerable.append(bool(q.answers))
            groups.append(q.group)
            ids.append(q.id)
        if bar:
            bar.update(len(part))
    if bar:
        bar.close()
    from ..answer.features import FEATURES

    X = np.concatenate(Xs) if Xs else np.zeros((0, len(FEATURES)), dtype=np.float32)
    return Collected(X, np.asarray(ys, dtype=np.float32), np.asarray(qids), np.asarray(answerable),
                     np.asarray(groups), ids)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- fitting

RANKER_PARAMS = dict(max_iter=250, learning_rate=0.06, max_leaf_nodes=15, min_samples_leaf=40,
                     l2_regularization=1.0, early_stopping=False)


def fit_ranker(X: np.ndarray, y: np.ndarray, seed: int = SEED):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from ..answer.scorer import Trees

    model = HistGradientBoostingClassifier(random_state=seed, **RANKER_PARAMS)
    model.fit(X, y)
    return Trees.from_sklearn(model)


def question_rows(data: Collected, logits: np.ndarray, questions: np.ndarray) -> np.ndarray:
    from ..answer.scorer import QUESTION_FEATURES, question_features

    out = np.zeros((len(questions), len(QUESTION_FEATURES)))
    for i, q in enumerate(questions):
        rows = data.qid == q
        out[i] = question_features(data.X[rows], logits[rows])
    return out


# News questions weigh this much in the answerability model: news is what the assistant reads,
# and its questions (247; 192 when the weight was chosen) would otherwise be drowned by SQuAD's
# 2,828. Measured then on held-out folds at the chosen threshold (docs/answers.md): news articles'
# abstention 0.175 at 9.8 % false abstention (weight 1) -> 0.200 at 7.1 %; SQuAD articles'
# unchanged (0.159 -> 0.166).
NEWS_WEIGHT = 3.0


def question_weights(groups: np.ndarray) -> np.ndarray:
    """Per question: NEWS_WEIGHT for the news sets' questions, 1 otherwise."""
    return np.where(np.char.startswith(np.asarray(groups, dtype=str), "news"), NEWS_WEIGHT, 1.0)


def fit_answerability(Z: np.ndarray, y: np.ndarray, C: float = 0.5, weight: np.ndarray | None = None):
    from sklearn.linear_model import LogisticRegression

    from ..answer.scorer import Logistic

    mean, scale = Z.mean(axis=0), Z.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=2000)
    model.fit((Z - mean) / scale, y, sample_weight=weight)
    return Logistic(mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]))


def out_of_fold_logits(data: Collected, train_groups: Sequence[str], seed: int = SEED) -> np.ndarray:
    """Ranker logits for the rows of ``train_groups``, each from a ranker that did not see
    its article (NaN elsewhere)."""
    logits = np.full(len(data.y), np.nan)
    row_group = data.group[data.qid]
    for g in train_groups:
        fit_rows = np.isin(row_group, [h for h in train_groups if h != g])
        ranker = fit_ranker(data.X[fit_rows], data.y[fit_rows], seed)
        rows = row_group == g
        logits[rows] = ranker.raw(data.X[rows])
    return logits


def fit_scorer(data: Collected, groups: Sequence[str], seed: int = SEED):
    """(ranker, answerability model) fitted on the questions of ``groups``."""
    row_group = data.group[data.qid]
    rows = np.isin(row_group, list(groups))
    ranker = fit_ranker(data.X[rows], data.y[rows], seed)
    oof = out_of_fold_logits(data, groups, seed)
    qs = np.flatnonzero(np.isin(data.group, list(groups)))
    Z = question_rows(data, oof, qs)
    answerability = fit_answerability(Z, data.answerable[qs].astype(int), weight=question_weights(data.group[qs]))
    return ranker, answerability


def predict(data: Collected, ranker, answerability, questions: np.ndarray):
    """Per question: (index of the best candidate row or -1, its label, answerability probability)."""
    from ..answer.scorer import question_features

    best, correct, prob = [], [], []
    for q in questions:
        rows = np.flatnonzero(data.qid == q)
        if len(rows) == 0:
            best.append(-1), correct.append(0.0), prob.append(0.0)
            continue
        logits = ranker.raw(data.X[rows])
        top = rows[int(np.argmax(logits))]
        best.append(top)
        correct.append(float(data.y[top]))
        prob.append(float(answerability.prob(question_features(data.X[rows], logits))[0]))
    return np.array(best), np.array(correct), np.array(prob)


def curve(answerable: np.ndarray, correct: np.ndarray, prob: np.ndarray, thresholds: Sequence[float]) -> list[dict]:
    """Abstention vs false abstention vs answer recall (best sentence only) per threshold."""
    out = []
    for t in thresholds:
        answer = prob >= t
        out.append({
            "threshold": round(float(t), 3),
            "abstention_accuracy": float(np.mean(~answer[~answerable])) if (~answerable).any() else None,
            "false_abstention_rate": float(np.mean(~answer[answerable])) if answerable.any() else None,
            "answer_recall_top1": float(np.mean(answer[answerable] & (correct[answerable] > 0))) if answerable.any() else None,
        })
    return out


def pick_threshold(answerable: np.ndarray, prob: np.ndarray, max_false_abstention: float) -> float:
    """The highest threshold whose false abstention rate stays within the limit."""
    ok = [t for t in np.round(np.arange(0.02, 0.98, 0.01), 2)
          if np.mean(prob[answerable] < t) <= max_false_abstention]
    return float(max(ok)) if ok else 0.0


def news_questions(path: Path) -> list[TrainQuestion]:
    """Questions of a JSONL set written for this project. An unanswerable question is
    grouped with the article of the answerable question before it (the sets list each
    article's near-misses after its answerable questions); off-topic ones at the end
    share one group."""
    from ..evaluation.sets import load_eval_file

    out, group = [], "news-offtopic"
    for q in load_eval_file(path).questions:
        if q.gold_doc_ids:
            group = f"news:{q.gold_doc_ids[0]}"
        out.append(TrainQuestion(q.id, q.question, q.answers, group, q.history))
    # trailing unanswerable questions after the last article's near-misses (5) are off-topic
    tail = 0
    for q in reversed(out):
        if q.answers:
            break
        tail += 1
    for i in range(len(out) - max(0, tail - 5), len(out)):
        out[i] = TrainQuestion(out[i].id, out[i].question, out[i].answers, "news-offtopic", out[i].history)
    return out


def _index(corpus: Path, cache: Path, name: str, encoder, progress: bool) -> Path:
    from ..store.build import build_index
    from ..settings import Settings

    ix = cache / "train-index" / f"{name}-{hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:8]}"
    build_index(corpus, ix, Settings(), encoder=encoder, progress=progress)
    return ix


class _NoScorer:
    """Collecting features needs no answers."""

    threshold = 0.5


def _merge(parts: Sequence[Collected]) -> Collected:
    X, y, qid, answerable, group, ids, offset = [], [], [], [], [], [], 0
    for p in parts:
        X.append(p.X), y.append(p.y), qid.append(p.qid + offset), answerable.append(p.answerable)
        group.append(p.group), ids.extend(p.ids)
        offset += len(p.answerable)
    return Collected(np.concatenate(X), np.concatenate(y), np.concatenate(qid), np.concatenate(answerable),
                     np.concatenate(group), ids)


def folds_of(groups: Sequence[str], n: int = 4) -> list[list[str]]:
    """Article groups dealt round-robin into ``n`` folds (SQuAD articles first)."""
    squad = sorted(g for g in set(groups) if not g.startswith(("news", "offtopic")))
    news = sorted(g for g in set(groups) if g.startswith(("news", "offtopic")))
    folds: list[list[str]] = [[] for _ in range(n)]
    for i, g in enumerate(squad + news):
        folds[i % n].append(g)
    return folds


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - exercised by `make train`
    from ..embed.factory import load_encoder
    from ..engine import Assistant
    from ..evaluation.sets import EvalQuestion
    from ..evaluation.evaluate import run_eval
    from ..answer.scorer import AnswerScorer
    from ..settings import Settings

    p = argparse.ArgumentParser(prog="python -m assistant.training.answer_scorer", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "models" / "answer-scorer"), help="where the scorer is written")
    p.add_argument("--squad", default=str(SQUAD2), help="SQuAD 2.0 file to train on")
    p.add_argument("--news", default=str(NEWS_TRAIN), help="folder with news/ and news_questions.jsonl")
    p.add_argument("--cache", default=str(ROOT / ".cache"), help="where training indexes are built")
    p.add_argument("--max-false-abstention", type=float, default=0.08,
                   help="the threshold is the highest whose held-out false abstention stays within this")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0" and argv is None:
        # Python salts string hashes per process, so sets of terms are summed in a different
        # order each run and features differ in the last bits: fix the salt for identical files
        os.execve(sys.executable, [sys.executable, "-m", "assistant.training.answer_scorer", *sys.argv[1:]],
                  {**os.environ, "PYTHONHASHSEED": "0"})
    t0 = time.time()
    progress = not args.quiet
    np.random.seed(SEED)
    squad_path, news_dir = Path(args.squad), Path(args.news)
    if not squad_path.is_file():
        print(f"error: {squad_path} is missing: pass --squad with the SQuAD 2.0 file (../shared/datasets/squad2-dev-a).",
              file=sys.stderr)
        return 2
    encoder = load_encoder()
    cache = Path(args.cache)
    log = lambda m: print(f"[{time.time() - t0:6.0f}s] {m}", file=sys.stderr, flush=True)  # noqa: E731

    sets = [("squad2-dev-a", squad_path, squad_questions(squad_path)[1], squad_path)]
    news_q = news_dir / "news_questions.jsonl"
    if news_q.is_file():
        sets.append(("news-train", news_dir / "news", news_questions(news_q), news_q))
    collected, engines, trained_on = [], {}, []
    for name, corpus, qs, qfile in sets:
        ix = _index(corpus, cache, name, encoder, progress)
        # the reading model off: the scorer does not read it, and its fold figures stay the
        # scorer's own (the files from before the reader was on by default, byte for byte)
        engine = Assistant.open(ix, Settings(reader_weight=0.0), encoder=encoder, scorer=_NoScorer())
        engines[name] = (engine, qs)
        collected.append(collect(engine, qs, progress=progress))
        trained_on.append({"name": name, "file": qfile.name, "sha256": file_sha256(qfile), "questions": len(qs),
                           "unanswerable": sum(1 for q in qs if not q.answers)})
        log(f"{name}: {len(qs)} questions, {len(collected[-1].y)} candidate sentences")
    # off-topic questions: each set's answerable questions asked of the other set's articles
    # (every 4th squad question, every news one), so that a question whose terms are nowhere
    # in the articles is learned as unanswerable, not only near-misses
    if len(engines) == 2:
        for (name, (engine, _)), (other, (_, qs)) in zip(engines.items(), reversed(list(engines.items()))):
            asked = [q for q in qs if q.answers][:: 4 if other.startswith("squad") else 1]
            off = [TrainQuestion(f"offtopic-{q.id}", q.question, (), f"offtopic-{other}", q.history) for q in asked]
            collected.append(collect(engine, off, progress=progress))
            trained_on.append({"name": f"{other} questions asked of {name}", "file": "(derived)",
                               "questions": len(off), "unanswerable": len(off)})
            log(f"off-topic: {len(off)} {other} questions asked of {name}")
    data = _merge(collected)
    folds = folds_of(list(data.group))
    row_group = data.group[data.qid]

    # held-out ranker logits for every question: the ranker of its fold never saw its article
    oof = np.full(len(data.y), np.nan)
    rankers = []
    for f in folds:
        fit_rows = ~np.isin(row_group, f)
        rankers.append(fit_ranker(data.X[fit_rows], data.y[fit_rows]))
        rows = np.isin(row_group, f)
        oof[rows] = rankers[-1].raw(data.X[rows])
        log(f"ranker without {', '.join(f)}")
    allq = np.arange(len(data.answerable))
    Z = question_rows(data, oof, allq)
    qfold = np.array([next(i for i, f in enumerate(folds) if g in f) for g in data.group])
    labels = data.answerable.astype(int)
    weights = question_weights(data.group)
    heldout_prob = np.zeros(len(allq))
    fold_models = []
    for i in range(len(folds)):
        tr = qfold != i
        model = fit_answerability(Z[tr], labels[tr], weight=weights[tr])
        threshold = pick_threshold(data.answerable[tr], model.prob(Z[tr]), args.max_false_abstention)
        heldout_prob[qfold == i] = model.prob(Z[qfold == i])
        fold_models.append((rankers[i], model, threshold))
    top_correct = np.array([data.y[np.flatnonzero(data.qid == q)[np.argmax(oof[data.qid == q])]]
                            if (data.qid == q).any() else 0.0 for q in allq])
    threshold = pick_threshold(data.answerable, heldout_prob, args.max_false_abstention)
    squad_q = np.flatnonzero(np.isin(data.group, [g for f in folds for g in f if not g.startswith(("news", "offtopic"))]))
    news_q = np.flatnonzero(np.char.startswith(data.group.astype(str), "news"))
    grid = [0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7]
    report: dict[str, Any] = {
        "seed": SEED, "folds": folds, "threshold": threshold, "news_weight": NEWS_WEIGHT, "max_false_abstention": args.max_false_abstention,
        "ranker_params": RANKER_PARAMS,
        "heldout_top1_accuracy_answerable_squad": float(top_correct[squad_q][data.answerable[squad_q]].mean()),
        "curve_heldout_squad": curve(data.answerable[squad_q], top_correct[squad_q], heldout_prob[squad_q],
                                     sorted(set(grid + [threshold]))),
        "curve_heldout_news": curve(data.answerable[news_q], top_correct[news_q], heldout_prob[news_q],
                                    sorted(set(grid + [threshold]))),
        "curve_heldout_all": curve(data.answerable, top_correct, heldout_prob, sorted(set(grid + [threshold]))),
    }

    # each fold answered end to end by the engine with the models that never saw its articles
    engine, qs = engines["squad2-dev-a"]
    default_policy = engine.policy
    fold_reports = []
    for i, f in enumerate(folds):
        ranker, model, t = fold_models[i]
        engine.scorer = AnswerScorer(ranker, model, t, {"name": f"fold-{i + 1}"})
        held = [EvalQuestion(q.id, q.question, q.answers, (q.group,) if q.answers else (), q.history)
                for q in qs if q.group in f]
        if not held:
            continue
        for ranking in ("terms", "learned"):  # the shipped ordering, and the learned ranker's
            engine.policy = replace(default_policy, ranking=ranking)
            summary = run_eval(held, engine, progress=False, latency_sample=0).summary
            fold_reports.append({"fold": i + 1, "ranking": ranking,
                                 "articles": [str(g) for g in f if not g.startswith(("news", "offtopic"))],
                                 "threshold": t,
                                 **{k: summary[k] for k in ("n", "answer_recall", "abstention_accuracy",
                                                            "false_abstention_rate", "sentences_per_answer",
                                                            "citation_precision")}})
            log(f"fold {i + 1}: {fold_reports[-1]}")
    engine.policy = default_policy
    report["folds_engine"] = fold_reports

    ranker = fit_ranker(data.X, data.y)
    answerability = fit_answerability(Z, labels, weight=weights)
    meta = {"name": "answer-scorer-gbdt-logistic", "trained_on": trained_on, "report": report,
            "created_with": "python -m assistant.train", "seconds": round(time.time() - t0)}
    out = Path(args.out)
    AnswerScorer(ranker, answerability, threshold, meta).save(out)
    (out / "training-report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {out}/ (threshold {threshold})")
    print(json.dumps({"threshold": threshold, "folds": fold_reports}, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
