"""fleck.compare.metrics checked against scikit-learn on random data with ties."""

import numpy as np
import pytest

from fleck.compare import metrics as M

sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is a test dependency")


def random_cases(count=60, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(2, 80))
        y = rng.integers(0, 2, n)
        # Few distinct values: many ties, which is where AUC definitions differ.
        score = rng.integers(0, int(rng.integers(2, 12)), n) / 10.0
        yield y, score, rng


def test_roc_auc_and_average_precision_match_sklearn_with_ties():
    checked = 0
    for y, score, rng in random_cases():
        weight = rng.integers(1, 4, len(y)).astype(float)
        if 0 < y.sum() < len(y):
            assert M.roc_auc(y, score) == pytest.approx(sklearn_metrics.roc_auc_score(y, score))
            assert M.roc_auc(y, score, sample_weight=weight) == pytest.approx(
                sklearn_metrics.roc_auc_score(y, score, sample_weight=weight))
            fpr, tpr, _ = M.roc_curve(y, score)
            fpr_ref, tpr_ref, _ = sklearn_metrics.roc_curve(y, score, drop_intermediate=False)
            np.testing.assert_allclose(fpr, fpr_ref)
            np.testing.assert_allclose(tpr, tpr_ref)
            checked += 1
        if y.sum() > 0:
            assert M.average_precision(y, score) == pytest.approx(
                sklearn_metrics.average_precision_score(y, score))
            precision, recall, thresholds = M.precision_recall_curve(y, score)
            ref = sklearn_metrics.precision_recall_curve(y, score)
            for ours, theirs in zip((precision, recall, thresholds), ref, strict=False):
                np.testing.assert_allclose(ours, theirs)
    assert checked > 40


def test_binary_metrics_match_sklearn():
    for y, _score, rng in random_cases(seed=1):
        pred = rng.integers(0, 2, len(y))
        counts = M.confusion_counts(y, pred)
        tn, fp, fn, tp = sklearn_metrics.confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert (counts.tp, counts.fp, counts.tn, counts.fn) == (tp, fp, tn, fn)
        rates = counts.rates()
        p, r, f, _ = sklearn_metrics.precision_recall_fscore_support(
            y, pred, average="binary", zero_division=np.nan)
        for ours, theirs in ((rates["precision"], p), (rates["recall"], r), (rates["f1"], f)):
            if np.isnan(theirs):
                assert ours is None
            else:
                assert ours == pytest.approx(theirs)
        assert rates["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(y, pred))


def test_undefined_values_are_none_not_errors():
    y = np.zeros(5, bool)
    rates = M.binary_metrics(y, [1, 0, 0, 0, 0])
    assert rates["recall"] is None and rates["fpr"] == 0.2 and rates["precision"] == 0.0
    assert M.roc_auc(y, np.arange(5.0)) is None
    assert M.average_precision(y, np.arange(5.0)) is None
    assert M.threshold_for_recall(y, np.arange(5.0), 0.5) is None
    assert M.binary_metrics(np.ones(3, bool), [0, 0, 0])["precision"] is None
    with pytest.raises(ValueError, match="both positive and negative"):
        M.roc_curve(y, np.arange(5.0))


def test_threshold_matching_follows_the_documented_rule():
    for y, score, _ in random_cases(seed=2):
        if not 0 < y.sum() < len(y):
            continue
        y = y.astype(bool)
        candidates = np.unique(score)
        for target in (0.0, 0.3, 0.5, 0.77, 1.0):
            def recall(th, y=y, score=score):
                return (score[y] >= th).mean()

            def fpr(th, y=y, score=score):
                return (score[~y] >= th).mean()

            t = M.threshold_for_recall(y, score, target)
            assert recall(t) >= target
            assert all(recall(c) < target for c in candidates if c > t)  # highest such
            t = M.threshold_for_fpr(y, score, target)
            assert fpr(t) <= target
            assert all(fpr(c) > target for c in candidates if c < t)  # lowest such


def test_threshold_for_fpr_predicts_nothing_when_even_the_top_score_is_negative():
    t = M.threshold_for_fpr([1, 0], [0.2, 0.9], 0.0)
    assert t > 0.9 and not (np.array([0.2, 0.9]) >= t).any()


def test_bootstrap_is_seeded_and_equals_resampling_the_images():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    score = rng.integers(0, 5, 60) / 4
    pred = score >= 0.5
    kwargs = dict(predictions={"d": pred}, scores={"d": score}, n_resamples=200)
    a = M.bootstrap_intervals(y, seed=7, **kwargs)
    assert a == M.bootstrap_intervals(y, seed=7, **kwargs)
    assert a != M.bootstrap_intervals(y, seed=8, **kwargs)
    # Reference: draw the same indices, recompute with scikit-learn on the resampled images.
    draw = np.random.default_rng(7)
    aucs, recalls = [], []
    for _ in range(200):
        idx = draw.integers(0, 60, 60)
        if 0 < y[idx].sum() < 60:
            aucs.append(sklearn_metrics.roc_auc_score(y[idx], score[idx]))
        if y[idx].sum() > 0:
            recalls.append(sklearn_metrics.recall_score(y[idx], pred[idx]))
    assert a["d"]["roc_auc"]["n"] == len(aucs)
    assert (a["d"]["roc_auc"]["low"], a["d"]["roc_auc"]["high"]) == pytest.approx(
        tuple(np.percentile(aucs, [2.5, 97.5])))
    assert (a["d"]["recall"]["low"], a["d"]["recall"]["high"]) == pytest.approx(
        tuple(np.percentile(recalls, [2.5, 97.5])))


def test_bootstrap_skips_single_class_resamples():
    # Two images, one positive: many resamples hold one class, where AUC is undefined.
    r = M.bootstrap_intervals([0, 1], scores={"s": [0.1, 0.9]}, n_resamples=100, seed=0)
    assert 0 < r["s"]["roc_auc"]["n"] < 100
    assert r["s"]["roc_auc"]["low"] == 1.0


def test_mcnemar_exact_matches_hand_computation():
    # 2 vs 8 discordant pairs: p = 2 * (C(10,0) + C(10,1) + C(10,2)) / 2^10 = 112 / 1024.
    y = np.ones(12, bool)
    a = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], bool)
    b = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], bool)
    r = M.mcnemar_exact(y, a, b)
    assert (r["a_only_correct"], r["b_only_correct"], r["n_discordant"]) == (2, 8, 10)
    assert r["p_value"] == pytest.approx(112 / 1024)
    assert M.mcnemar_exact(y, a, a)["p_value"] == 1.0


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="y_true"):
        M.roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="score"):
        M.roc_auc([0, 1], [0.1])
    with pytest.raises(ValueError, match="finite"):
        M.average_precision([0, 1], [0.1, np.nan])


def test_roc_auc_works_without_np_trapezoid(monkeypatch):
    """NumPy 1.x (allowed by pyproject) has no np.trapezoid; the AUC must not need it."""
    y = np.array([0, 0, 1, 1, 0, 1])
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    expected = sklearn_metrics.roc_auc_score(y, score)
    monkeypatch.delattr(np, "trapezoid", raising=False)
    assert M.roc_auc(y, score) == expected
