"""Loading dataset artifacts: the good formats, and every bad input refused with a located cause."""

from __future__ import annotations

import io
import pickle
import re
import zipfile

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskframe.data.datasets import load_dataset, load_representations
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

# Good paths --------------------------------------------------------------------------------------


def test_npz_of_flat_features(tmp_path, load, digits_small):
    images, labels = digits_small
    np.savez(tmp_path / "raw.npz", X=images.reshape(60, 64), y=labels)

    ds = load(path="raw.npz", format="npz", features="X", labels="y")

    assert ds.name == "train" and ds.path == (tmp_path / "raw.npz").resolve()
    assert ds.features.shape == (60, 64) and ds.features.dtype == np.float64
    np.testing.assert_array_equal(ds.features, images.reshape(60, 64))
    np.testing.assert_array_equal(ds.classes, np.arange(10))
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.images is None
    assert (ds.n_samples, ds.n_classes) == (60, 10)


def test_npz_keys_default_to_X_and_y_and_the_suffix_gives_the_format(tmp_path, load, digits_small):
    images, labels = digits_small
    np.savez(tmp_path / "raw.npz", X=images.reshape(60, 64), y=labels)

    assert load(path="raw.npz").n_samples == 60


def test_images_are_flattened_for_detectors_and_kept_for_reports(tmp_path, load, digits_small):
    images, labels = digits_small
    np.savez(tmp_path / "raw.npz", pixels=images, target=labels)

    ds = load(path="raw.npz", features="pixels", labels="target")

    assert ds.features.shape == (60, 64)
    assert ds.images is not None and ds.images.shape == (60, 8, 8)
    np.testing.assert_array_equal(ds.features[7], images[7].ravel())
    np.testing.assert_array_equal(ds.images, images)


def test_colour_images_with_a_channel_axis(tmp_path, load):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "rgb.npz", X=rng.integers(0, 255, (6, 4, 4, 3), dtype=np.uint8), y=[0, 1] * 3)

    ds = load(path="rgb.npz")

    assert ds.features.shape == (6, 48) and ds.features.dtype == np.float64
    assert ds.images is not None and ds.images.shape == (6, 4, 4, 3)


def test_arbitrary_integer_labels_become_codes_and_keep_their_values(tmp_path, load):
    labels = np.array([7, 3, 3, 7, 7, 3])
    np.savez(tmp_path / "raw.npz", X=np.arange(12.0).reshape(6, 2), y=labels)

    ds = load(path="raw.npz")

    np.testing.assert_array_equal(ds.classes, [3, 7])
    np.testing.assert_array_equal(ds.labels, [1, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(ds.classes[ds.labels], labels)
    assert (ds.label_of(0), ds.label_of(1)) == ("3", "7")


def test_integer_valued_float_labels_and_a_column_vector_are_accepted(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((4, 2)), y=np.array([[3.0], [7.0], [3.0], [7.0]]))

    ds = load(path="raw.npz")

    np.testing.assert_array_equal(ds.classes, [3, 7])
    assert ds.labels.dtype == np.int64 and ds.labels.shape == (4,)


def test_npy_pair(tmp_path, load, digits_small):
    images, labels = digits_small
    np.save(tmp_path / "features.npy", images.reshape(60, 64).astype(np.float32))
    np.save(tmp_path / "labels.npy", labels)

    ds = load(path="features.npy", labels="labels.npy")

    assert ds.features.shape == (60, 64) and ds.features.dtype == np.float32  # float32 stays float32
    np.testing.assert_array_equal(ds.labels, labels)


def test_csv_with_a_label_column(tmp_path, load):
    (tmp_path / "raw.csv").write_text("width,height,kind\n1.5,2,3\n\n2.5,4,7\n0.5,1.0, 3 \n")

    ds = load(path="raw.csv", labels="kind")

    np.testing.assert_array_equal(ds.features, [[1.5, 2.0], [2.5, 4.0], [0.5, 1.0]])
    np.testing.assert_array_equal(ds.classes, [3, 7])
    np.testing.assert_array_equal(ds.labels, [0, 1, 0])


def test_csv_feature_columns_can_be_chosen_one_or_many(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,b,c,y\n1,2,3,0\n4,5,6,1\n")

    np.testing.assert_array_equal(load(path="raw.csv", labels="y", features=["c", "a"]).features,
                                  [[3, 1], [6, 4]])
    np.testing.assert_array_equal(load(path="raw.csv", labels="y", features="b").features, [[2], [5]])


def test_csv_from_a_spreadsheet_with_a_byte_order_mark(tmp_path, load):
    (tmp_path / "raw.csv").write_bytes("y,a\r\n0,1\r\n1,2\r\n".encode("utf-8-sig"))

    ds = load(path="raw.csv", labels="y")

    np.testing.assert_array_equal(ds.features, [[1], [2]])


def test_loaded_arrays_are_read_only_because_every_run_shares_them(tmp_path, load, digits_small):
    images, labels = digits_small
    np.savez(tmp_path / "raw.npz", X=images, y=labels)

    ds = load(path="raw.npz")

    for array in (ds.features, ds.labels, ds.classes, ds.images):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


# Bad input: each an ArtifactError with a pinned message and the field to blame -------------------


def _refused(load, field: str, message: str, **declaration) -> ArtifactError:
    with pytest.raises(ArtifactError, match=f"^{re.escape(message)}$") as excinfo:
        load(**declaration)
    assert excinfo.value.field == field
    return excinfo.value


def test_missing_file(tmp_path, load):
    _refused(load, "path", f"file not found: {(tmp_path / 'raw.npz').resolve()}", path="raw.npz")


def test_missing_label_file_of_an_npy_pair(tmp_path, load):
    np.save(tmp_path / "X.npy", np.ones((3, 2)))
    _refused(load, "labels", f"label file not found: {(tmp_path / 'y.npy').resolve()}",
             path="X.npy", labels="y.npy")


def test_a_folder_where_a_file_was_declared(tmp_path, load):
    (tmp_path / "raw.npz").mkdir()
    folder = (tmp_path / "raw.npz").resolve()
    _refused(load, "path", f"{folder} is a folder, read as the files of a sharded dataset, and none of its files "
             "matches '*.npz'", path="raw.npz")


def test_unknown_format(tmp_path, load):
    (tmp_path / "raw.feather").write_bytes(b"ARROW1")
    _refused(load, "format", "cannot read a dataset of format 'unknown'; declare format: npz, npy, csv, parquet or "
             "images", path="raw.feather")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_features(tmp_path, load, bad):
    features = np.ones((5, 3))
    features[3, 1] = bad
    np.savez(tmp_path / "raw.npz", X=features, y=[0, 1, 0, 1, 0])
    _refused(load, "features",
             "raw.npz: features contain 1 NaN or infinite values (in 1 row, the first is row 3)",
             path="raw.npz")


def test_nan_counts_name_the_rows(tmp_path, load):
    features = np.ones((5, 3))
    features[2, :] = np.nan
    features[4, 0] = np.inf
    np.savez(tmp_path / "raw.npz", X=features, y=[0, 1, 0, 1, 0])
    _refused(load, "features",
             "raw.npz: features contain 4 NaN or infinite values (in 2 rows, the first is row 2)",
             path="raw.npz")


def test_features_too_large_to_square_are_refused(tmp_path, load):
    """1e300 squared is inf: every variance and distance the checks take would turn to NaN."""
    features = np.ones((5, 3))
    features[1, 2] = -1e300
    np.savez(tmp_path / "raw.npz", X=features, y=[0, 1, 0, 1, 0])
    _refused(load, "features",
             "raw.npz: features hold 1 value beyond +-1e+150 (the first in row 1), too large to square without "
             "overflow; rescale them", path="raw.npz")


def test_float32_features_beyond_what_float32_squares_are_refused(tmp_path, load):
    features = np.ones((5, 3), dtype=np.float32)
    features[3, 0] = 3e19  # its square is beyond float32's largest value
    np.savez(tmp_path / "raw.npz", X=features, y=[0, 1, 0, 1, 0])
    _refused(load, "features",
             "raw.npz: features hold 1 value beyond +-1e+18 (the first in row 3), too large to square in float32 "
             "without overflow; rescale them or store them as float64", path="raw.npz")
    np.savez(tmp_path / "raw.npz", X=features.astype(np.float64), y=[0, 1, 0, 1, 0])
    assert load(path="raw.npz").features[3, 0] == np.float32(3e19)  # as float64, squared without overflow


def test_features_and_labels_of_different_lengths(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((10, 2)), y=np.arange(9) % 2)
    _refused(load, "labels", "raw.npz: features have 10 rows but labels have 9", path="raw.npz")


def test_labels_of_the_wrong_shape(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((4, 2)), y=np.zeros((4, 2)))
    _refused(load, "labels", "raw.npz: features have 4 rows but labels have shape (4, 2)", path="raw.npz")


def test_npy_pair_of_different_lengths(tmp_path, load):
    np.save(tmp_path / "X.npy", np.ones((10, 2)))
    np.save(tmp_path / "y.npy", np.arange(12) % 2)
    _refused(load, "labels", "X.npy: features have 10 rows but labels have 12", path="X.npy", labels="y.npy")


def test_one_class_only(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((4, 2)), y=[3, 3, 3, 3])
    _refused(load, "labels", "raw.npz: labels hold a single class; at least two are needed", path="raw.npz")


def test_empty_dataset(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.empty((0, 64)), y=np.empty(0, dtype=int))
    _refused(load, "features", "raw.npz: the dataset is empty", path="raw.npz")


def test_csv_with_a_header_and_no_rows_is_empty(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,b,y\n")
    _refused(load, "features", "raw.csv: the dataset is empty", path="raw.csv", labels="y")


def test_csv_with_nothing_in_it(tmp_path, load):
    (tmp_path / "raw.csv").write_text("\n\n")
    _refused(load, "path", "raw.csv is empty", path="raw.csv", labels="y")


def test_features_with_no_columns(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.empty((3, 0)), y=[0, 1, 0])
    _refused(load, "features", "raw.npz: features have no columns; got shape (3, 0)", path="raw.npz")


def test_features_of_one_dimension(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.arange(4.0), y=[0, 1, 0, 1])
    _refused(load, "features", "raw.npz: features must be (N, D), or images (N, H, W[, C]); got shape (4,)",
             path="raw.npz")


def test_text_features(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.array([["a"], ["b"]]), y=[0, 1])
    _refused(load, "features", "raw.npz: features must be numeric; got dtype <U1", path="raw.npz")


def test_fractional_labels(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((4, 2)), y=[1.0, 2.0, 1.5, 2.0])
    _refused(load, "labels", "raw.npz: labels must be integer class ids; row 2 holds a fraction", path="raw.npz")


def test_nan_labels(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((4, 2)), y=[1.0, np.nan, 1.0, 2.0])
    _refused(load, "labels", "raw.npz: labels contain NaN or infinite values (the first is row 1)",
             path="raw.npz")


def test_string_labels_in_an_npz(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((2, 2)), y=np.array(["cat", "dog"]))
    _refused(load, "labels", "raw.npz: labels must be integer class ids; got <U3 values", path="raw.npz")


@pytest.mark.parametrize("cell", ["1.5", "1e30"])
def test_csv_labels_that_are_numbers_but_not_integers(tmp_path, load, cell):
    (tmp_path / "raw.csv").write_text(f"a,y\n1,0\n2,{cell}\n3,1\n")
    _refused(load, "labels", "raw.csv: labels are numbers, so they must be integer class ids, and the one on line 3 "
             "is not", path="raw.csv", labels="y")


@pytest.mark.parametrize("cell", ["", "nan", "NA", " ? "])
def test_csv_labels_that_are_missing(tmp_path, load, cell):
    (tmp_path / "raw.csv").write_text(f"a,y\n1,0\n2,{cell}\n3,1\n")
    _refused(load, "labels", "raw.csv: line 3, column 2: the label is missing", path="raw.csv", labels="y")


def test_csv_feature_that_is_not_a_number(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,b,y\n1,2,0\n3,four,1\n")
    _refused(load, "features", "raw.csv: line 3, column 2: the column holds numbers from its first row, and this "
             "value is not one (a column of categories must hold text from its first row)", path="raw.csv", labels="y")


def test_csv_row_of_the_wrong_width(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,b,y\n1,2,0\n3,1\n")
    _refused(load, "path", "raw.csv: line 3 has 2 values but the header has 3 columns",
             path="raw.csv", labels="y")


def test_csv_without_the_label_column(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,b,target\n1,2,0\n")
    _refused(load, "labels", "raw.csv has no column 'y' (looked up in its header, of 3 columns)",
             path="raw.csv", labels="y")


def test_csv_without_a_feature_column(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,b,y\n1,2,0\n")
    _refused(load, "features", "raw.csv has no column 'c' (looked up in its header, of 3 columns)",
             path="raw.csv", labels="y", features=["a", "c"])


def test_csv_without_labels_declared(tmp_path, load):
    (tmp_path / "raw.csv").write_text("a,y\n1,0\n")
    _refused(load, "labels", "a csv dataset needs `labels:`, the name of the label column", path="raw.csv")


def test_csv_that_is_not_text(tmp_path, load):
    (tmp_path / "raw.csv").write_bytes(b"a,y\n\xff\xfe,1\n")
    _refused(load, "path", "raw.csv is not UTF-8 text, as a csv dataset must be (invalid start byte at byte 4)",
             path="raw.csv", labels="y")


def test_npz_without_the_named_features_lists_what_it_has(tmp_path, load):
    np.savez(tmp_path / "raw.npz", images=np.ones((2, 2)), targets=[0, 1])
    _refused(load, "features", "raw.npz has no array named 'X'; it holds: images, targets", path="raw.npz")


def test_npz_without_the_named_labels_lists_what_it_has(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((2, 2)), targets=[0, 1])
    _refused(load, "labels", "raw.npz has no array named 'labels'; it holds: X, targets",
             path="raw.npz", labels="labels")


def test_npz_features_must_name_one_array(tmp_path, load):
    np.savez(tmp_path / "raw.npz", X=np.ones((2, 2)), y=[0, 1])
    _refused(load, "features", "an npz dataset names one features array, e.g. `features: X`",
             path="raw.npz", features=["X", "Z"])


def test_npy_without_a_label_file(tmp_path, load):
    np.save(tmp_path / "X.npy", np.ones((2, 2)))
    _refused(load, "labels", "an npy dataset needs `labels:`, the path of the label array", path="X.npy")


def test_truncated_npz(tmp_path, load):
    np.savez(tmp_path / "good.npz", X=np.ones((20, 20)), y=np.arange(20) % 2)
    (tmp_path / "raw.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:300])
    with pytest.raises(ArtifactError, match=r"^raw\.npz is damaged or cannot be read \(") as excinfo:
        load(path="raw.npz")
    assert excinfo.value.field == "path"


def test_truncated_npy(tmp_path, load):
    np.save(tmp_path / "good.npy", np.ones((20, 3)))
    (tmp_path / "X.npy").write_bytes((tmp_path / "good.npy").read_bytes()[:150])
    np.save(tmp_path / "y.npy", np.arange(20) % 2)
    with pytest.raises(ArtifactError, match=r"^X\.npy is damaged or truncated: its header declares 20 x 3 float64 "
                                            r"\(480 bytes of data\) but the file holds 22$") as excinfo:
        load(path="X.npy", labels="y.npy")
    assert excinfo.value.field == "path"


def test_a_file_that_is_not_what_its_format_says(tmp_path, load):
    (tmp_path / "raw.npz").write_text("x,y\n1,2\n")
    _refused(load, "path", "raw.npz is not an npz file (it does not start as one)", path="raw.npz")


# Pickles: refused, and provably never loaded ------------------------------------------------------


def test_the_canary_payload_is_live(tmp_path, canary, canary_payload):
    """The control: loading the payload does create the canary, so its absence below means something."""
    pickle.loads(canary_payload)  # our own payload, built by the fixture: safe to load here
    assert canary.exists()


@pytest.mark.parametrize("name", ["x.npz", "x.npy"])
def test_a_pickle_where_a_dataset_was_declared_is_refused_unloaded(tmp_path, load, canary, canary_payload, name):
    (tmp_path / name).write_bytes(canary_payload)
    np.save(tmp_path / "y.npy", [0, 1])
    kind = name.rsplit(".", 1)[1]
    _refused(load, "path", f"{name} is a pickle stream, not {kind}; riskframe never unpickles dataset files. "
             "Save the arrays with numpy.savez instead", path=name, labels="y.npy" if kind == "npy" else None)
    assert not canary.exists()


def test_a_pickle_where_a_csv_was_declared_is_refused_unloaded(tmp_path, load, canary, canary_payload):
    (tmp_path / "x.csv").write_bytes(canary_payload)
    _refused(load, "path", "x.csv is a pickle stream, not csv; riskframe never unpickles dataset files. "
             "Save the arrays with numpy.savez instead", path="x.csv", labels="y")
    assert not canary.exists()


def test_a_pickled_label_file_is_refused_unloaded(tmp_path, load, canary, canary_payload):
    np.save(tmp_path / "X.npy", np.ones((2, 2)))
    (tmp_path / "y.npy").write_bytes(canary_payload)
    _refused(load, "labels", "y.npy is a pickle stream, not npy; riskframe never unpickles dataset files. "
             "Save the arrays with numpy.savez instead", path="X.npy", labels="y.npy")
    assert not canary.exists()


def test_an_npz_with_an_object_array_is_refused_unloaded(tmp_path, load, canary, canary_hook):
    hooks = np.array([canary_hook, canary_hook], dtype=object)
    np.savez(tmp_path / "raw.npz", X=np.ones((2, 2)), y=hooks)
    _refused(load, "labels", "raw.npz: array 'y' holds Python objects that only unpickling can read; "
             "riskframe never unpickles dataset files. Save numeric arrays instead", path="raw.npz")
    assert not canary.exists()


def test_an_npy_with_an_object_array_is_refused_unloaded(tmp_path, load, canary, canary_hook):
    np.save(tmp_path / "X.npy", np.array([[canary_hook], [1]], dtype=object))
    np.save(tmp_path / "y.npy", [0, 1])
    _refused(load, "path", "X.npy holds Python objects that only unpickling can read; "
             "riskframe never unpickles dataset files. Save numeric arrays instead",
             path="X.npy", labels="y.npy")
    assert not canary.exists()


@pytest.mark.parametrize("name", ["hooks.npy", "hooks.npz"])
def test_the_object_array_payload_is_live(tmp_path, canary, canary_hook, name):
    """The control for the two tests above: numpy with pickles allowed does run the hook."""
    hooks = np.array([canary_hook], dtype=object)
    if name.endswith(".npz"):
        np.savez(tmp_path / name, y=hooks)
        with np.load(tmp_path / name, allow_pickle=True) as data:
            data["y"]
    else:
        np.save(tmp_path / name, hooks)
        np.load(tmp_path / name, allow_pickle=True)
    assert canary.exists()


# Any arrays at all: a valid dataset or an ArtifactError, never anything else ---------------------


@st.composite
def feature_label_arrays(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Mostly well-formed datasets, each with a chance of one defect: NaN or inf, odd shapes,
    mismatched lengths, fractional or NaN labels, a single class, nothing at all."""
    n = draw(st.integers(0, 6))
    # (N,), (N, 0) and (N, 1, 1, 1, 1) are refused; the rest are tables or images
    shape = (n, *draw(st.sampled_from([(3,), (1,), (2, 2), (2, 3, 1), (), (0,), (1, 1, 1, 1)])))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_]))
    features = draw(arrays(dtype, shape, elements={"min_value": 0, "max_value": 1} if dtype is np.bool_
                           else {"min_value": 0, "max_value": 100}))
    if features.size and dtype in (np.float64, np.float32) and draw(st.integers(0, 3)) == 0:
        features.flat[draw(st.integers(0, features.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
    n_labels = draw(st.sampled_from([n, n, n, n + 1]))
    odd_labels = draw(st.integers(0, 3)) == 0
    values = st.integers(-2, 3) | st.sampled_from([0.5, np.nan]) if odd_labels else st.integers(-2, 3)
    labels = np.array(draw(st.lists(values, min_size=n_labels, max_size=n_labels)))
    if draw(st.booleans()):
        labels = labels.reshape(-1, 1)
    return features, labels


@settings(max_examples=120, deadline=None)
@given(data=feature_label_arrays())
def test_any_arrays_load_as_a_valid_dataset_or_are_refused(tmp_path_factory, data):
    features, labels = data
    folder = tmp_path_factory.mktemp("arrays")
    np.savez(folder / "raw.npz", X=features, y=labels)
    try:
        ds = load_dataset(Artifact(name="raw", type="dataset", path="raw.npz"), folder)
    except ArtifactError as exc:
        assert exc.field in ("features", "labels") and str(exc).startswith("raw.npz: ")
        event(f"refused: {exc.field}")
        return
    event("loaded")
    n = features.shape[0]
    assert ds.features.shape == (n, features[0].size) and np.isfinite(ds.features).all()
    assert ds.n_classes >= 2 and set(np.unique(ds.labels)) == set(range(ds.n_classes))
    np.testing.assert_array_equal(ds.classes[ds.labels], labels.reshape(-1).astype(np.int64))


# Hostile npz and npy files: headers checked against the bytes and the budget before numpy reads ----

def _npy_bytes(descr: object, shape: object, fortran: object = False, data: bytes = b"", version: bytes = b"\x01\x00",
               header: str | None = None) -> bytes:
    text = header if header is not None else repr({"descr": descr, "fortran_order": fortran, "shape": shape})
    body = text.encode("latin1", "replace") + b"\n"
    length = len(body).to_bytes(2 if version[0] == 1 else 4, "little")
    return b"\x93NUMPY" + version + length + body + data


def _npz(path, members: dict[str, bytes], compress: bool = False) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)


@pytest.mark.parametrize(("x_member", "field", "message"), [
    (_npy_bytes("<f8", (6_300_000_000, 1)), "features",
     "raw.npz: array 'X' is damaged or truncated: its header declares 6300000000 x 1 float64 (50400000000 bytes of "
     "data) but the file holds 0"),
    (_npy_bytes("<f8", (-5, 2)), "features", "raw.npz: array 'X' is damaged: its header declares a negative dimension"),
    (_npy_bytes("|O", (2, 2)), "features", "raw.npz: array 'X' holds Python objects that only unpickling can read; "
     "riskframe never unpickles dataset files. Save numeric arrays instead"),
    (_npy_bytes("<f8", (2,), header="{'descr': '<f8', 'shape': (((((" + "(" * 300 + "}"), "features",
     "raw.npz: array 'X' is damaged or not a numpy array (its header cannot be read)"),
    (_npy_bytes("<f8", (2,), version=b"\x03\x00"), "features",
     "raw.npz: array 'X' is in npy format version 3.0, which riskframe does not read (numpy writes 1.0 or 2.0 for "
     "numeric arrays)"),
    (b"not an array at all", "features", "raw.npz: array 'X' is damaged or not a numpy array (its header cannot be "
     "read)"),
])
def test_a_hostile_npz_member_is_refused_before_numpy_allocates(tmp_path, load, x_member, field, message):
    labels = io.BytesIO()
    np.save(labels, np.array([0, 1]))
    _npz(tmp_path / "raw.npz", {"X.npy": x_member, "y.npy": labels.getvalue()})
    _refused(load, field, message, path="raw.npz")


def test_an_npy_header_larger_than_its_file_is_damage(tmp_path, load):
    (tmp_path / "X.npy").write_bytes(_npy_bytes("<f8", (1_000_000_000, 64), data=bytes(64)))
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    _refused(load, "path", "X.npy is damaged or truncated: its header declares 1000000000 x 64 float64 "
             "(512000000000 bytes of data) but the file holds 64", path="X.npy", labels="y.npy")


def test_the_budget_refuses_what_does_not_fit_and_keeps_what_is_loaded(tmp_path):
    from riskframe.data.budget import Budget

    np.savez(tmp_path / "raw.npz", X=np.ones((100, 10)), y=np.repeat([0, 1], 50))
    budget = Budget(100 * 10 * 8 + 100 * (8 + 16))  # exactly the dataset: features, labels, label codes
    artifact = Artifact(name="raw", type="dataset", path="raw.npz")
    load_dataset(artifact, tmp_path, budget)
    assert budget.left == 0
    with pytest.raises(ArtifactError) as info:
        load_dataset(artifact, tmp_path, budget)
    assert str(info.value) == ("raw.npz: features (100 x 10 float64) would take 10.2 KiB in memory once loaded, more "
                               "than the dataset memory budget of 10.2 KiB (0 B left after the artifacts already "
                               "loaded); refused before reading it (set RISKFRAME_MAX_DATASET_MEMORY to change the "
                               "budget)")
    # float32 features are kept as they are: half the bytes, and half the budget.
    np.savez(tmp_path / "half.npz", X=np.ones((100, 10), np.float32), y=np.repeat([0, 1], 50))
    budget = Budget(100 * 10 * 4 + 100 * (8 + 16))
    half = load_dataset(Artifact(name="half", type="dataset", path="half.npz"), tmp_path, budget)
    assert half.features.dtype == np.float32 and budget.left == 0
    np.savez(tmp_path / "bad.npz", X=np.full((100, 10), np.nan), y=np.repeat([0, 1], 50))
    budget = Budget(1 << 20)
    with pytest.raises(ArtifactError, match="NaN"):
        load_dataset(Artifact(name="bad", type="dataset", path="bad.npz"), tmp_path, budget)
    assert budget.spent == 0  # what could not be loaded is given back


_DESCRS = ["<f8", "<f4", "|u1", "<i8", "|b1", "|O", "<U3", "|S0", "|V0", ">f8", "<c16", "<M8[s]", "[('a', '<f8')]",
           "<f16", "xx", 5, None, "|V8"]


@st.composite
def hostile_npz_members(draw: st.DrawFn) -> dict[str, bytes]:
    """An npz's members: real arrays, arrays whose header lies, random headers, random bytes."""
    def member() -> bytes:
        kind = draw(st.sampled_from(["real", "header", "junk", "text"]))
        if kind == "real":
            buffer = io.BytesIO()
            shape = draw(st.tuples(st.integers(0, 6), st.integers(0, 4)))
            np.save(buffer, np.arange(shape[0] * shape[1], dtype=np.float64).reshape(shape) % 3)
            return buffer.getvalue()
        if kind == "header":
            shape = draw(st.one_of(st.tuples(st.integers(-3, 10**12)),
                                   st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
                                   st.sampled_from([(), "x", None, (1.5,), [3]])))
            data = draw(st.binary(max_size=64))
            return _npy_bytes(draw(st.sampled_from(_DESCRS)), shape, draw(st.sampled_from([False, True, "no"])), data,
                              draw(st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00", b"\x09\x09"])))
        if kind == "text":
            return _npy_bytes("<f8", (1,), header=draw(st.text(max_size=80)), data=draw(st.binary(max_size=16)))
        return draw(st.binary(max_size=120))

    names = draw(st.lists(st.sampled_from(["X.npy", "y.npy", "X", "Z.npy", "../y.npy"]), max_size=4, unique=True))
    return {name: member() for name in names}


@settings(max_examples=200, deadline=None)
@given(members=hostile_npz_members(), compress=st.booleans())
def test_any_hostile_npz_loads_or_is_an_artifact_error(tmp_path_factory, members, compress):
    folder = tmp_path_factory.mktemp("npz")
    _npz(folder / "raw.npz", members, compress)
    for load in (load_dataset, load_representations):
        try:
            load(Artifact(name="raw", type="dataset" if load is load_dataset else "representations", path="raw.npz",
                          **({} if load is load_dataset else {"of": "raw"})), folder)
        except ArtifactError as exc:
            assert str(exc).startswith("raw.npz") and exc.field in ("path", "features", "labels")
            event(f"refused: {str(exc).split(';')[0][:40]}")


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=300), prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00", b"\x80\x04"]))
def test_any_bytes_as_npz_or_npy_are_an_artifact_error(tmp_path_factory, content, prefix):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / "raw.npz").write_bytes(prefix + content)
    (folder / "X.npy").write_bytes(prefix + content)
    np.save(folder / "y.npy", np.array([0, 1]))
    for artifact in (Artifact(name="raw", type="dataset", path="raw.npz"),
                     Artifact(name="x", type="dataset", path="X.npy", labels="y.npy")):
        with pytest.raises(ArtifactError):
            load_dataset(artifact, folder)
