"""The learned answer scorer: a gradient-boosted sentence ranker and a logistic
answerability model, trained by ``python -m assistant.training.answer_scorer`` and stored in
``models/answer-scorer/`` as plain arrays (``ranker.npz``) and JSON (``scorer.json``).
Nothing is pickled; inference is numpy only (no torch, no scikit-learn).

``AnswerScorer.score(X)`` takes the feature rows of ``assistant.answer.features`` for one
question's candidate sentences and returns a probability per sentence that it holds the
answer, and the probability that the question is answered by any of them."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import AssistantError
from .features import FEATURES

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "models" / "answer-scorer"
FORMAT = 1
RETRAIN = "`make train` (python -m assistant.training.answer_scorer)"
RESTORE = "models/answer-scorer"


class ScorerError(AssistantError):
    """The answer scorer's files are missing or damaged."""


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted trees flattened into arrays: node ``i`` of tree ``t`` is row
    ``offsets[t] + i``; a sample goes left when ``x[feature] <= threshold`` (missing
    values go where ``missing_left`` says)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    roots: np.ndarray  # first row of each tree
    depth: int
    baseline: float

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The summed raw score (log-odds) of every row of ``X``."""
        n = X.shape[0]
        if n == 0:
            return np.zeros(0)
        node = np.repeat(self.roots[:, None], n, axis=1)  # (trees, n)
        cols = np.arange(n)[None, :]
        for _ in range(self.depth):
            leaf = self.leaf[node]
            if leaf.all():
                break
            x = X[cols, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(leaf, node, np.where(go_left, self.left[node], self.right[node]))
        return self.baseline + self.value[node].sum(axis=0)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"feature": self.feature, "threshold": self.threshold, "missing_left": self.missing_left,
                "left": self.left, "right": self.right, "leaf": self.leaf, "value": self.value, "roots": self.roots,
                "meta": np.array([self.depth, self.baseline], dtype=np.float64)}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> "Trees":
        depth, baseline = a["meta"]
        return cls(a["feature"].astype(np.int64), a["threshold"].astype(np.float64), a["missing_left"].astype(bool),
                   a["left"].astype(np.int64), a["right"].astype(np.int64), a["leaf"].astype(bool),
                   a["value"].astype(np.float64), a["roots"].astype(np.int64), int(depth), float(baseline))

    @classmethod
    def from_sklearn(cls, model) -> "Trees":
        """Flatten a fitted ``HistGradientBoostingClassifier`` (binary, numeric features)."""
        rows: dict[str, list] = {k: [] for k in ("feature", "threshold", "missing_left", "left", "right", "leaf", "value")}
        roots, depth, offset = [], 0, 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            roots.append(offset)
            rows["feature"].extend(nodes["feature_idx"].tolist())
            rows["threshold"].extend(nodes["num_threshold"].tolist())
            rows["missing_left"].extend(nodes["missing_go_to_left"].astype(bool).tolist())
            rows["left"].extend((nodes["left"] + offset).tolist())
            rows["right"].extend((nodes["right"] + offset).tolist())
            rows["leaf"].extend(nodes["is_leaf"].astype(bool).tolist())
            rows["value"].extend(nodes["value"].tolist())
            depth = max(depth, int(nodes["depth"].max()) + 1)
            offset += len(nodes)
        baseline = float(np.ravel(model._baseline_prediction)[0])
        return cls(np.array(rows["feature"], dtype=np.int64), np.array(rows["threshold"]),
                   np.array(rows["missing_left"], dtype=bool), np.array(rows["left"], dtype=np.int64),
                   np.array(rows["right"], dtype=np.int64), np.array(rows["leaf"], dtype=bool),
                   np.array(rows["value"]), np.array(roots, dtype=np.int64), depth, baseline)


# question-level summaries of the ranker's output: the answerability model's inputs
QUESTION_FEATURES = (
    "best_logit", "second_logit", "logit_gap", "best_coverage", "best_similarity", "top_dense",
    "best_missing_idf", "best_missing_idf_window", "best_missing_idf_paragraph", "best_missing_idf_article",
    "best_coverage_article", "best_names_missing", "best_numbers_missing", "best_negation_mismatch",
    "max_coverage", "max_similarity", "n_candidates", "best_answer_missing", "best_answer_unfit",
    "any_answer_fits",
)
_COL = {name: i for i, name in enumerate(FEATURES)}


def question_features(X: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """One row of ``QUESTION_FEATURES`` for a question's candidates and their ranker logits."""
    if len(logits) == 0:
        return np.zeros(len(QUESTION_FEATURES))
    order = np.argsort(-logits, kind="stable")
    best = X[order[0]]
    second = logits[order[1]] if len(order) > 1 else logits[order[0]] - 5.0
    return np.array([
        logits[order[0]], second, logits[order[0]] - second, best[_COL["coverage"]], best[_COL["similarity"]],
        best[_COL["top_dense"]], best[_COL["missing_idf"]], best[_COL["missing_idf_window"]],
        best[_COL["missing_idf_paragraph"]], best[_COL["missing_idf_article"]], best[_COL["coverage_article"]],
        best[_COL["question_names_missing"]], best[_COL["question_numbers_missing"]],
        best[_COL["negation_mismatch"]], X[:, _COL["coverage"]].max(), X[:, _COL["similarity"]].max(),
        np.log1p(len(logits)), best[_COL["answer_missing"]], best[_COL["answer_unfit"]],
        float(np.any((X[:, _COL["answer_unfit"]] == 0) & (X[:, _COL["answer_missing"]] == 0))),
    ])


@dataclass(frozen=True)
class Logistic:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def prob(self, Z: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(Z) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Logistic":
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64),
                   np.asarray(d["coef"], dtype=np.float64), float(d["intercept"]))


@dataclass(frozen=True)
class Scored:
    """The scorer's verdict on one question's candidates."""

    sentence: np.ndarray  # probability that each candidate holds the answer
    answerable: float  # probability that the question is answered by the candidates


@dataclass(frozen=True)
class AnswerScorer:
    ranker: Trees
    answerability: Logistic
    threshold: float  # abstain below this answerability probability
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "answer-scorer"))

    @property
    def digest(self) -> str:
        return str(self.meta.get("sha256", ""))

    def score(self, X: np.ndarray) -> Scored:
        logits = self.ranker.raw(np.asarray(X, dtype=np.float64))
        if len(logits) == 0:
            return Scored(np.zeros(0), 0.0)
        p = 1.0 / (1.0 + np.exp(-logits))
        answerable = float(self.answerability.prob(question_features(X, logits))[0])
        return Scored(p, answerable)

    def describe(self) -> dict[str, Any]:
        """What eval reports record about the scorer."""
        return {"name": self.name, "sha256": self.digest, "threshold": self.threshold,
                "trained_on": self.meta.get("trained_on", []), "format": FORMAT}

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "ranker.npz", **self.ranker.arrays())
        meta = dict(self.meta, format=FORMAT, features=list(FEATURES), question_features=list(QUESTION_FEATURES),
                    threshold=self.threshold, answerability=self.answerability.to_json(),
                    ranker_sha256=hashlib.sha256((folder / "ranker.npz").read_bytes()).hexdigest())
        meta.pop("sha256", None)
        (folder / "scorer.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def load_scorer(folder: str | Path | None = None) -> AnswerScorer:
    """Load and check the scorer, or raise ScorerError naming the fix."""
    folder = Path(folder) if folder is not None else DEFAULT_DIR
    meta_path, ranker_path = folder / "scorer.json", folder / "ranker.npz"
    if not meta_path.is_file() or not ranker_path.is_file():
        raise ScorerError(f"The answer scorer is missing from {folder}/ (scorer.json and ranker.npz): "
                          f"restore it with `git checkout -- {RESTORE}` or retrain it with {RETRAIN}.")
    try:
        raw = meta_path.read_bytes()
        meta = json.loads(raw.decode("utf-8"))
        data = ranker_path.read_bytes()
        if not isinstance(meta, dict) or hashlib.sha256(data).hexdigest() != meta.get("ranker_sha256"):
            raise ValueError("ranker.npz does not match the checksum in scorer.json")
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, this version reads {FORMAT}")
        if list(meta.get("features", [])) != list(FEATURES) or list(meta.get("question_features", [])) != list(QUESTION_FEATURES):
            raise ValueError("it was trained on other features than this version computes")
        import io

        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            ranker = Trees.from_arrays({k: arrays[k] for k in arrays.files})
        answerability = Logistic.from_json(meta["answerability"])
        threshold = float(meta["threshold"])
        if not 0.0 <= threshold <= 1.0 or len(answerability.coef) != len(QUESTION_FEATURES):
            raise ValueError("its threshold or answerability weights are out of shape")
    except ScorerError:
        raise
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ScorerError(f"The answer scorer in {folder}/ is damaged ({str(e)[:120]}): restore it with "
                          f"`git checkout -- {RESTORE}` or retrain it with {RETRAIN}.") from e
    meta["sha256"] = hashlib.sha256(raw + data).hexdigest()[:16]
    return AnswerScorer(ranker, answerability, threshold, meta)


def training_files(scorer: AnswerScorer) -> Sequence[dict[str, str]]:
    """The data files (name and sha256) the scorer was trained on."""
    return [d for d in scorer.meta.get("trained_on", []) if isinstance(d, dict)]
