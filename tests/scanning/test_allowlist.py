"""The allowlist decides; the gadget table only sets severity and reason."""

from __future__ import annotations

import pytest

from riskframe.scanning.allowlist import SAFE_GLOBALS, Allowlist, derived_globals, find_gadget, torch_nn_classes


@pytest.mark.parametrize("dotted", [
    "collections.OrderedDict", "numpy._core.multiarray._reconstruct", "numpy.core.multiarray._reconstruct",
    "numpy.dtype", "numpy.float64", "numpy.dtypes.StringDType", "_codecs.encode", "builtins.set",
    "torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.nn.parameter.Parameter",
    "sklearn.ensemble._forest.RandomForestClassifier", "sklearn.tree._tree.Tree", "sklearn.pipeline.Pipeline",
    "joblib.numpy_pickle.NumpyArrayWrapper", "numpy.random._pickle.__randomstate_ctor",
])
def test_reconstruction_helpers_are_allowed(dotted):
    module, _, name = dotted.rpartition(".")
    if module in ("numpy.random._pickle",):
        module, name = "numpy.random._pickle", "__randomstate_ctor"

    assert Allowlist().classify(module, name).severity is None


@pytest.mark.parametrize(("module", "name", "severity", "reason"), [
    ("posix", "system", "critical", "runs operating-system commands"),
    ("nt", "system", "critical", "runs operating-system commands"),
    ("subprocess", "Popen", "critical", "runs operating-system commands"),
    ("builtins", "eval", "critical", "evaluates or compiles arbitrary Python"),
    ("builtins", "getattr", "critical", "reaches arbitrary attributes"),
    ("builtins", "__import__", "critical", "imports or runs arbitrary modules"),
    ("io", "open", "critical", "opens, writes or deletes files"),
    ("runpy", "run_path", "critical", "imports or runs arbitrary modules"),
    ("importlib", "import_module", "critical", "imports or runs arbitrary modules"),
    ("_pickle", "loads", "critical", "loads another serialised object"),
    ("torch.serialization", "load", "critical", "loads another serialised object"),
    ("timeit", "timeit", "critical", "profilers and debuggers"),
    ("ctypes", "CDLL", "critical", "calls native code"),
    ("numpy.testing._private.utils", "runstring", "critical", "evaluates or compiles"),
    ("pip._internal", "main", "critical", "calls native code, or builds and installs packages"),
    ("urllib.request", "urlopen", "critical", "opens network connections"),
    ("requests", "get", "critical", "opens network connections"),
    ("threading", "Thread", "high", "changes interpreter state"),
    ("operator", "itemgetter", "high", "applies a callable"),
    ("builtins", "print", "high", "a builtin outside the containers and numbers"),
    ("mypackage.models", "Net", "medium", "not in the allowlist of globals known to be safe"),
    ("torchvision.models.resnet", "ResNet", "medium", "not in the allowlist"),
])
def test_everything_else_is_flagged_with_a_reason(module, name, severity, reason):
    verdict = Allowlist().classify(module, name)

    assert verdict.severity == severity and verdict.reason.startswith(reason)


def test_a_site_may_trust_its_own_classes_but_never_a_critical_gadget():
    allow = Allowlist(["mypackage.models.Net", "posix.system"])

    assert allow.classify("mypackage.models", "Net").severity is None
    assert allow.classify("posix", "system").severity == "critical"


def test_torchscript_names_are_only_admitted_inside_torchscript_archives():
    allow = Allowlist()

    assert allow.classify("__torch__.torch.nn.modules.linear", "Linear", torchscript=True).severity is None
    assert allow.classify("__torch__.torch.nn.modules.linear", "Linear").severity == "medium"


@pytest.mark.parametrize(("module", "name", "family"), [
    ("torch.serialization", "os.system", "runs operating-system commands"),
    ("logging", "os.system", "runs operating-system commands"),
    ("collections", "OrderedDict.__init__.__globals__", "walks dunder attributes"),
    ("copyreg", "_reconstructor.__builtins__", "walks dunder attributes"),
])
def test_attribute_chains_reach_the_gadget_at_their_end(module, name, family):
    assert find_gadget(module, name).reason.startswith(family)


def test_plain_names_are_not_gadgets_by_accident():
    # "_pickle" is a gadget module; numpy's "random._pickle" helpers are not reached through it
    assert find_gadget("numpy.random._pickle", "__randomstate_ctor") is None
    assert find_gadget("copyreg", "__newobj__") is None


def test_the_derived_lists_are_loaded_and_hold_no_gadget():
    derived = derived_globals()

    assert len([n for n in derived if n.startswith("sklearn.")]) > 200
    assert len([n for n in derived if n.startswith("torch.")]) > 100
    gadgets = [n for n in derived | SAFE_GLOBALS if find_gadget(*n.rsplit(".", 1))]
    assert gadgets == []


def test_torch_nn_module_classes_are_admitted_only_as_objects_rebuilt_from_their_state():
    verdict = Allowlist().classify("torch.nn.modules.linear", "Linear")

    assert (verdict.severity, verdict.constructed_only) == (None, True)
    assert Allowlist().classify("torch.nn.functional", "relu").constructed_only is False
    assert {"torch.nn.modules.module.Module", "torch.nn.modules.container.Sequential",
            "torch.nn.modules.rnn.LSTM"} <= torch_nn_classes()
    assert not [n for n in torch_nn_classes() if find_gadget(*n.rsplit(".", 1)) or not n.startswith("torch.nn.")]


@pytest.mark.slow
def test_the_committed_torch_nn_list_is_what_torch_itself_gives():
    """The list is derived from the installed torch (``python -m devtools.scanning.derive``): every
    Module subclass of torch.nn.modules whose loading hooks were reviewed, and the functions stock
    modules keep as attributes."""
    from devtools.scanning.derive import torch_nn_globals

    _, classes, functions = torch_nn_globals()

    assert set(classes) == torch_nn_classes()
    assert set(functions) == {n for n in derived_globals() if n.startswith(("torch.nn.functional.", "torch._C._nn."))}
