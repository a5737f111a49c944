"""The reading model's training pieces that decide what it learns: batches of whole
questions, the listwise loss (and its "answer removed" near-miss term), and the overlap
filter that keeps measured texts out of the training data."""
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from assistant.training.reader import _norm, _seen, batches, listwise_loss  # noqa: E402


def test_batches_keep_each_question_whole_and_use_every_pair_once():
    rng = random.Random(0)
    sizes = [rng.randint(2, 6) for _ in range(300)]
    groups = np.repeat(np.arange(len(sizes)), sizes)
    lengths = np.array([rng.randint(10, 64) for _ in groups])
    got = batches(groups, lengths, 32, random.Random(1))
    flat = [i for b in got for i in b]
    assert sorted(flat) == list(range(len(groups)))
    for b in got:
        for g in set(groups[b]):
            assert set(np.flatnonzero(groups == g)) <= set(b)  # a question is never split
    assert sum(len(b) < 32 for b in got) <= 1  # only a chunk's last batch may be short


def test_listwise_loss_rewards_ranking_the_answering_sentence_first():
    ys = np.array([1, 0, 0])
    groups = np.zeros(3, dtype=int)
    right = listwise_loss(torch.tensor([3.0, 0.0, -1.0]), ys, groups)
    wrong = listwise_loss(torch.tensor([0.0, 3.0, -1.0]), ys, groups)
    assert float(right) < float(wrong)
    # a question without an answering sentence adds nothing unless the near-miss term is on
    assert listwise_loss(torch.tensor([1.0, 2.0]), np.array([0, 0]), np.array([5, 5])) is None


def test_answer_removed_term_pushes_the_best_wrong_sentence_below_zero():
    ys = np.array([1, 0, 0])
    groups = np.zeros(3, dtype=int)
    low = listwise_loss(torch.tensor([3.0, -3.0, -4.0]), ys, groups, null_weight=0.5)
    high = listwise_loss(torch.tensor([3.0, 2.0, -4.0]), ys, groups, null_weight=0.5)
    assert float(low) < float(high)
    # same logits, term off: the only difference left is the ranking, which is right in both
    assert float(listwise_loss(torch.tensor([3.0, 2.0, -4.0]), ys, groups, 0.5)) > float(
        listwise_loss(torch.tensor([3.0, 2.0, -4.0]), ys, groups))
    # a near-miss question (no answering sentence) now teaches "no answer"
    calm = listwise_loss(torch.tensor([-4.0, -5.0]), np.array([0, 0]), np.array([5, 5]), null_weight=1.0)
    eager = listwise_loss(torch.tensor([4.0, -5.0]), np.array([0, 0]), np.array([5, 5]), null_weight=1.0)
    assert float(calm) < float(eager)


def test_overlap_filter_finds_a_measured_sentence_whatever_its_punctuation():
    measured = _norm("The Normans were the people who in the 10th and 11th centuries gave their name to Normandy.")
    assert _seen("the Normans were the people who, in the 10th and 11th centuries, gave their name to Normandy", measured)
    assert not _seen("The ferry will run every hour from the downtown quay to the island.", measured)
    assert not _seen("Normandy.", measured)  # too short to say
