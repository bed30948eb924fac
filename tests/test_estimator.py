"""fleck.FleckClassifier: scikit-learn's estimator checks, its tools, the scan's scores, no sklearn.

scikit-learn's own checks feed numeric feature tables; those that cannot apply to an estimator
of images are listed in EXPECTED_FAILURES with the reason, and the behaviour they guard
(pickling, order and subset invariance, no state change in predict, idempotent fit,
consistent outputs) is checked below on images instead.
"""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fleck
from fleck.scan import read_results, scan

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is in the test extra")
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"
ALL_SAMPLES = sorted(str(p) for p in SAMPLES.glob("*.jpg"))
# Four figures and four controls: enough for two-class folds, fast to score.
FEW = [str(SAMPLES / n) for n in (
    "figure_02_medium_arms_raised.jpg", "figure_10_brown_standing.jpg",
    "figure_16_brown_walking.jpg", "figure_21_tan_walking.jpg", "wood_0.jpg", "bread_1.jpg",
    "skin_wall_0.jpg", "landscape_1.jpg")]
FEW_Y = np.array([1, 1, 1, 1, 0, 0, 0, 0])

NUMERIC = "feeds a numeric feature table; X is a collection of images (rows are not images)"
EXPECTED_FAILURES = {
    "check_fit_score_takes_y": NUMERIC,
    "check_estimators_dtypes": NUMERIC + ", and multiclass y",
    "check_complex_data": NUMERIC,
    "check_dtype_object": NUMERIC,
    "check_estimators_empty_data_messages": "asks for sklearn's message on a table with 0 "
                                            "features; images have no feature count",
    "check_pipeline_consistency": NUMERIC + " (see test_pipeline_and_clone)",
    "check_estimators_nan_inf": NUMERIC,
    "check_estimators_pickle": NUMERIC + " (see test_pickle_round_trip)",
    "check_f_contiguous_array_estimator": NUMERIC,
    "check_classifier_data_not_an_array": NUMERIC + ", and multiclass y",
    "check_classifiers_one_label": "the rules are not fitted: trained on one label, the "
                                   "estimator still predicts both (see test_one_label_fit)",
    "check_classifiers_classes": "classes_ is fixed to [0, 1]: string labels are refused",
    "check_classifiers_train": NUMERIC + " (see test_outputs_are_consistent)",
    "check_supervised_y_2d": NUMERIC,
    "check_decision_proba_consistency": NUMERIC + " (see test_outputs_are_consistent)",
    "check_methods_sample_order_invariance": NUMERIC + " (see test_order_and_subsets)",
    "check_methods_subset_invariance": NUMERIC + " (see test_order_and_subsets)",
    "check_fit2d_1feature": NUMERIC,
    "check_dict_unchanged": NUMERIC + " (see test_predict_changes_nothing)",
    "check_fit_idempotent": NUMERIC + " (see test_predict_changes_nothing)",
    "check_n_features_in": "images have no fixed number of features: no n_features_in_",
    "check_n_features_in_after_fitting": "images have no fixed number of features: no "
                                         "n_features_in_",
    "check_fit1d": "fit does not read X (the rules are fixed); predict refuses it",
    "check_fit2d_predict1d": NUMERIC,
}


# A check listed above that starts passing fails the test (strict), so the list stays true.
STRICT = {"xfail_strict": True} if "xfail_strict" in inspect.signature(
    parametrize_with_checks).parameters else {}  # scikit-learn >= 1.8


@parametrize_with_checks([fleck.FleckClassifier()],
                         expected_failed_checks=lambda _: EXPECTED_FAILURES, **STRICT)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("scan") / "results.jsonl"
    scan([str(SAMPLES)], out, jobs=2)
    return {r["path"]: r for r in read_results(out)}


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_scores_equal_fleck_scan_exactly(scanned, n_jobs):
    clf = fleck.FleckClassifier(n_jobs=n_jobs)
    proba = clf.predict_proba(ALL_SAMPLES)
    assert len(ALL_SAMPLES) == 40 and set(scanned) == set(ALL_SAMPLES)
    assert proba[:, 1].tolist() == [scanned[p]["score"] for p in ALL_SAMPLES]
    assert clf.predict(ALL_SAMPLES).tolist() == [int(scanned[p]["decision"])
                                                 for p in ALL_SAMPLES]


def test_every_input_route_gives_the_same_scores():
    clf = fleck.FleckClassifier()
    paths = FEW[:4]
    arrays = [fleck.load_image(p) for p in paths]
    expected = clf.decision_function(paths)
    routes = {
        "bytes": [Path(p).read_bytes() for p in paths],
        "pil": [Image.open(p) for p in paths],
        "arrays": arrays,
        "stack": np.stack(arrays),
        "path objects": [Path(p) for p in paths],
        "object column": np.array(paths, dtype=object).reshape(-1, 1),
        "generator": (p for p in paths),
    }
    for name, X in routes.items():
        assert clf.decision_function(X).tolist() == expected.tolist(), name


class FakeFrame:
    """What FleckClassifier uses of a pandas DataFrame (pandas is not a test dependency)."""

    def __init__(self, columns: dict[str, list]):
        self.columns = columns
        self.ndim, self.shape = 2, (len(next(iter(columns.values()))), len(columns))
        frame = self

        class ILoc:
            def __getitem__(self, key):
                return list(frame.columns.values())[key[1]]

        self.iloc = ILoc()

    def __iter__(self):  # iterating a DataFrame gives its column names
        return iter(self.columns)


def test_a_one_column_table_is_its_column():
    clf = fleck.FleckClassifier()
    expected = clf.decision_function(FEW[:2]).tolist()
    assert clf.decision_function(FakeFrame({"path": FEW[:2]})).tolist() == expected
    with pytest.raises(ValueError, match="table with 2 columns"):
        clf.predict(FakeFrame({"path": FEW[:2], "label": [1, 0]}))


def test_parallel_equals_serial_and_keeps_order():
    X = [*FEW, b"junk", *FEW[:2]]
    serial = fleck.FleckClassifier(on_error="nan")
    parallel = fleck.FleckClassifier(on_error="nan", n_jobs=2)
    with pytest.warns(RuntimeWarning, match="1 of 11 images"):
        a = serial.predict_proba(X)
    with pytest.warns(RuntimeWarning, match="1 of 11 images"):
        b = parallel.predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[8]).all() and not np.isnan(np.delete(a, 8, axis=0)).any()


def test_errors_raise_by_default_naming_the_image(tmp_path):
    clf = fleck.FleckClassifier()
    with pytest.raises(fleck.ImageError, match=r"^X\[1\]: "):
        clf.predict([FEW[0], b"junk"])
    missing = str(tmp_path / "gone.jpg")
    with pytest.raises(fleck.ImageError, match="gone.jpg"):
        fleck.FleckClassifier(n_jobs=2).predict_proba([FEW[0], missing, FEW[1]])


def test_on_error_nan_gives_nan_rows_and_float_predictions():
    clf = fleck.FleckClassifier(on_error="nan")
    with pytest.warns(RuntimeWarning, match="could not be read"):
        predicted = clf.predict([FEW[0], b"junk", FEW[4]])
    assert predicted.dtype == float and np.isnan(predicted[1])
    assert predicted[[0, 2]].tolist() == clf.predict([FEW[0], FEW[4]]).tolist()
    with pytest.warns(RuntimeWarning):
        assert np.isnan(clf.decision_function([b"junk"])).all()
    assert clf.predict(FEW[:2]).dtype.kind == "i"  # no failure: classes as integers


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="on_error"):
        fleck.FleckClassifier(on_error="skip").predict(FEW[:1])
    for n_jobs in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_jobs"):
            fleck.FleckClassifier(n_jobs=n_jobs).predict(FEW[:1])
    with pytest.raises(ValueError, match="working_size"):
        fleck.FleckClassifier(working_size=1).fit(FEW, FEW_Y)
    with pytest.raises(ValueError, match="unknown configuration"):
        fleck.FleckClassifier(config="nope").fit(FEW, FEW_Y)
    with pytest.raises(TypeError, match="wrap a single image"):
        fleck.FleckClassifier().predict(FEW[0])
    with pytest.raises(ValueError, match="feature vectors are not images"):
        fleck.FleckClassifier().predict(np.zeros((3, 4)))


def test_config_and_working_size():
    native = fleck.FleckClassifier(working_size="native").decision_function(FEW[:2])
    expected = [fleck.detect(p, fleck.get_config("fleck1996@native")).score for p in FEW[:2]]
    assert native.tolist() == expected
    kapur = fleck.FleckClassifier(config="kapur", working_size=480).decision_function(FEW[:2])
    assert kapur.tolist() == [fleck.detect(p, "kapur@480").score for p in FEW[:2]]


def test_fit_checks_labels_and_learns_nothing():
    clf = fleck.FleckClassifier()
    assert clf.fit(FEW, FEW_Y) is clf and clf.classes_.tolist() == [0, 1]
    assert clf.fit(FEW, FEW_Y.astype(bool)).classes_.tolist() == [0, 1]
    assert clf.fit(FEW).classes_.tolist() == [0, 1]
    for y, message in ((FEW_Y[:3], "8 images but y holds 3"), (FEW_Y * 2, "Only binary"),
                       (FEW_Y + 0.5, "continuous"), (["nsfw"] * 8, "Only binary")):
        with pytest.raises(ValueError, match=message):
            clf.fit(FEW, y)
    with pytest.raises(ValueError, match="no images"):
        clf.fit([])


def test_one_label_fit():
    """The rules are fixed: trained on one class, both classes are still predicted."""
    all_one = fleck.FleckClassifier().fit(FEW, np.ones(8, int)).predict(FEW)
    all_zero = fleck.FleckClassifier().fit(FEW, np.zeros(8, int)).predict(FEW)
    assert all_one.tolist() == all_zero.tolist() == fleck.FleckClassifier().predict(FEW).tolist()


def test_outputs_are_consistent():
    clf = fleck.FleckClassifier().fit(FEW, FEW_Y)
    proba, score, predicted = (clf.predict_proba(FEW), clf.decision_function(FEW),
                               clf.predict(FEW))
    assert proba.shape == (8, 2) and score.shape == predicted.shape == (8,)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[:, 1].tolist() == score.tolist()
    assert predicted.tolist() == clf.classes_[proba.argmax(axis=1)].tolist()
    assert predicted.tolist() == (score >= 0.5).astype(int).tolist()
    assert clf.score(FEW, FEW_Y) == np.mean(predicted == FEW_Y)


def test_order_and_subsets():
    clf = fleck.FleckClassifier().fit(FEW, FEW_Y)
    whole = clf.decision_function(FEW)
    order = np.random.default_rng(0).permutation(len(FEW))
    assert clf.decision_function([FEW[i] for i in order]).tolist() == whole[order].tolist()
    assert [clf.decision_function([p])[0] for p in FEW] == whole.tolist()


def test_predict_changes_nothing():
    clf = fleck.FleckClassifier(n_jobs=2).fit(FEW, FEW_Y)
    state = dict(vars(clf))
    first = clf.predict_proba(FEW)
    assert vars(clf).keys() == state.keys()
    assert all(np.array_equal(vars(clf)[k], v) for k, v in state.items())
    np.testing.assert_array_equal(clf.fit(FEW, FEW_Y).fit(FEW, FEW_Y).predict_proba(FEW), first)


def test_pickle_round_trip():
    clf = fleck.FleckClassifier(config="kapur").fit(FEW, FEW_Y)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.get_params() == clf.get_params()
    np.testing.assert_array_equal(copy.predict_proba(FEW), clf.predict_proba(FEW))


def test_roc_curve_display_from_estimator():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import RocCurveDisplay

    clf = fleck.FleckClassifier()
    display = RocCurveDisplay.from_estimator(clf, FEW, FEW_Y)  # no fit needed
    plt.close("all")
    assert display.roc_auc == pytest.approx(roc_auc_score(FEW_Y, clf.decision_function(FEW)))


def test_cross_val_predict():
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    clf = fleck.FleckClassifier()
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    proba = cross_val_predict(clf, FEW, FEW_Y, cv=cv, method="predict_proba")
    np.testing.assert_array_equal(proba, clf.predict_proba(FEW))
    predicted = cross_val_predict(clf, FEW, FEW_Y, cv=cv)
    assert predicted.tolist() == clf.predict(FEW).tolist()


def test_pipeline_and_clone():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    def mirrored(X):
        return [fleck.load_image(p)[:, ::-1] for p in X]

    pipeline = make_pipeline(FunctionTransformer(mirrored), fleck.FleckClassifier())
    got = pipeline.fit(FEW, FEW_Y).predict_proba(FEW)
    np.testing.assert_array_equal(got, fleck.FleckClassifier().predict_proba(mirrored(FEW)))
    twin = clone(fleck.FleckClassifier(config="kapur", n_jobs=2, working_size=480))
    assert twin.get_params() == {"config": "kapur", "n_jobs": 2, "working_size": 480,
                                 "on_error": "raise"}
    assert repr(twin) == "FleckClassifier(config='kapur', n_jobs=2, working_size=480)"


def test_works_without_scikit_learn(tmp_path):
    """A plain `pip install fleck`: the class imports and fits/predicts without scikit-learn."""
    image = tmp_path / "a.png"
    Image.fromarray(np.full((64, 80, 3), (60, 90, 160), np.uint8)).save(image)
    code = textwrap.dedent(f"""
        import sys
        sys.modules["sklearn"] = None  # import sklearn now raises ImportError
        import fleck
        clf = fleck.FleckClassifier(n_jobs=None)
        from fleck import estimator
        assert not estimator.SKLEARN_AVAILABLE
        assert all(not c.__module__.startswith("sklearn") for c in type(clf).__mro__)
        assert clf.fit([{str(image)!r}], [0]) is clf
        print(clf.predict([{str(image)!r}]).tolist(), clf.predict_proba([{str(image)!r}]).shape)
        print(clf.set_params(config="kapur").get_params()["config"], repr(clf))
        print(clf.score([{str(image)!r}], [0]))
        print("sklearn" in sys.modules and sys.modules["sklearn"] is not None)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:4] == ["[0] (1, 2)", "kapur FleckClassifier(config='kapur')", "1.0", "False"]
