"""`companion safety train`: fit the semantic second opinion on the written sentence sets.

A softmax regression over MiniLM embeddings (deterministic: full-batch gradient descent from
zero). Its threshold is chosen by five-fold cross-validation of the whole detector — rules,
their set-asides, then the model — as the most permissive one whose precision stays at or above
MIN_PRECISION: a missed crisis costs more than a role-play interrupted by mistake. holdout3.tsv
is never read here; it is the set nobody tuned for.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion.safety.detector import CATEGORIES, rules
from companion.safety.semantic import SentenceEncoder, Weights
from companion.safety.sets import load_set

TRAINING_SETS = ("sentences", "holdout", "train", "holdout2")
CLASSES = ("none", *CATEGORIES)
L2 = 3e-4  # chosen by the same cross-validation (1e-4 … 1e-3 were within 0.01 of it)
STEPS = 1500
RATE = 2.0
MIN_PRECISION = 0.9
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(9))  # 0.3 … 0.7
FOLDS = 5


@dataclass(frozen=True)
class Trained:
    weights: Weights
    cv_precision: float
    cv_recall: float
    sentences: int


def data_sha(rows: list[tuple[str, str]]) -> str:
    return hashlib.sha256("\n".join(f"{e}\t{s}" for e, s in rows).encode()).hexdigest()


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = np.zeros((x.shape[1], len(CLASSES)))
    b = np.zeros(len(CLASSES))
    target = np.eye(len(CLASSES))[y]
    for _ in range(STEPS):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - target) / len(x)
        w -= RATE * (x.T @ g + L2 * w)
        b -= RATE * g.sum(axis=0)
    return w, b


def _scores(got: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    tp = int((got & positive).sum())
    fp = int((got & ~positive).sum())
    fn = int((~got & positive).sum())
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def train(rows: list[tuple[str, str]], encoder: SentenceEncoder) -> Trained:
    x = encoder.embed([s for _, s in rows])
    y = np.array([CLASSES.index(e) for e, _ in rows])
    found = [rules(s) for _, s in rows]
    by_rule = np.array([r is not None for r, _ in found])
    aside = np.array([a for _, a in found])
    positive = y > 0
    # the fold is a function of the sentence, so adding a sentence moves no other
    fold = np.array([zlib.crc32(s.encode()) % FOLDS for _, s in rows])
    p_none = np.zeros(len(rows))
    for f in range(FOLDS):
        w, b = fit(x[fold != f], y[fold != f])
        p_none[fold == f] = Weights(CLASSES, w, b, 0.0, "").probabilities(x[fold == f])[:, 0]
    best = (THRESHOLDS[0], *_scores(by_rule | ((p_none < THRESHOLDS[0]) & ~aside), positive))
    for t in THRESHOLDS[1:]:
        precision, recall = _scores(by_rule | ((p_none < t) & ~aside), positive)
        if precision >= MIN_PRECISION and recall >= best[2]:
            best = (t, precision, recall)
    w, b = fit(x, y)
    weights = Weights(CLASSES, w, b, best[0], data_sha(rows))
    return Trained(weights, round(best[1], 3), round(best[2], 3), len(rows))


def training_rows() -> list[tuple[str, str]]:
    return [row for name in TRAINING_SETS for row in load_set(name)]


def run(out: Path) -> Trained:
    trained = train(training_rows(), SentenceEncoder())
    trained.weights.save(out)
    print(f"{trained.sentences} sentences; threshold P(none) < {trained.weights.threshold} "
          f"(cross-validated: precision {trained.cv_precision:.3f}, recall "
          f"{trained.cv_recall:.3f}); wrote {out}")
    return trained
