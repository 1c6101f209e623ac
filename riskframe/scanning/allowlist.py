"""Which globals a pickle may name: an allowlist, and a table of known gadgets with reasons.

The decision is made by the allowlist, not the gadget table: a global outside the allowlist is
always flagged (at least ``medium``), because loading a pickle *imports the module it names and
calls what it finds there*. The gadget table only raises the severity of the well-known ways to
run code (``critical``) or to reach code indirectly (``high``), and supplies the reason a reviewer
reads.

The allowlist is three parts:

- :data:`SAFE_GLOBALS`: hand-picked Python, numpy and scipy reconstruction helpers, each group
  with the reason it is harmless (it builds a value from data and calls nothing it is handed);
- ``data/torch_weights_only.txt``: the globals torch's own ``weights_only=True`` unpickler admits
  (``torch._weights_only_unpickler._get_allowed_globals()`` of torch 2.13.0), so that any
  checkpoint torch itself loads safely also scans safe;
- ``data/sklearn.txt``: scikit-learn's estimator classes (``sklearn.utils.all_estimators()``) and
  the helper classes and functions that stock fitted estimators reference when pickled, derived
  with ``python -m devtools.scanning.derive`` from the installed scikit-learn and committed as
  data. Matching exact ``sklearn.<module>.<name>`` paths from a committed list, rather than
  importing scikit-learn at scan time, keeps the scan free of imports of what it vets, makes the
  result the same on every machine, and puts every change of the list in a reviewable diff.

Sites add their own classes with ``extra`` (``mypackage.models.Net``); an extra entry never
overrides a ``critical`` gadget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from riskframe.vocabulary import LEVELS, Level, level_rank

# A finding is graded on the four levels every riskframe severity uses.
Severity = Level
SEVERITIES = LEVELS

# Values rebuilt by these only hold data; none calls an object it is given.
_PYTHON = """
    builtins.set builtins.frozenset builtins.bytearray builtins.bytes builtins.complex builtins.slice
    builtins.range builtins.object builtins.dict builtins.list builtins.tuple builtins.str builtins.int
    builtins.float builtins.bool builtins.NotImplemented builtins.Ellipsis
    copyreg._reconstructor copyreg.__newobj__ copyreg.__newobj_ex__
    _codecs.encode codecs.encode
    collections.OrderedDict collections.Counter collections.deque collections.defaultdict
    datetime.datetime datetime.date datetime.time datetime.timedelta datetime.timezone
    decimal.Decimal fractions.Fraction uuid.UUID
"""
# copyreg.__newobj__ and _reconstructor call cls.__new__ on a class that is itself a global in the
# stream (and so checked); _codecs.encode is how protocols 0-2 spell bytes; defaultdict's factory is
# a separate global too.

# numpy's own reduce functions: arrays, dtypes, scalars, masked arrays and random generators.
_NUMPY = """
    numpy.ndarray numpy.dtype numpy.core.multiarray._reconstruct numpy._core.multiarray._reconstruct
    numpy.core.multiarray.scalar numpy._core.multiarray.scalar numpy.core.numeric._frombuffer
    numpy._core.numeric._frombuffer numpy.ma.core._mareconstruct numpy.ma.core.MaskedArray
    numpy.matrixlib.defmatrix.matrix numpy.random._pickle.__randomstate_ctor
    numpy.random._pickle.__bit_generator_ctor numpy.random._pickle.__generator_ctor
    numpy.random._mt19937.MT19937 numpy.random._pcg64.PCG64 numpy.random._pcg64.PCG64DXSM
    numpy.random._philox.Philox numpy.random._sfc64.SFC64 numpy.random.mtrand.RandomState
    numpy.random._generator.Generator numpy.random.bit_generator.SeedSequence
    numpy.random.bit_generator.__pyx_unpickle_SeedSequence
"""
# numpy scalar types (estimators keep dtype=numpy.float64) and numpy 2's dtype classes
# (numpy.dtypes.StringDType); reducers averaging features (FeatureAgglomeration's pooling_func).
_NUMPY_TYPES = re.compile(r"^numpy\.(dtypes\.[A-Za-z0-9]+DType|bool_?|(u?int|float|complex)(8|16|32|64|128|256)"
                          r"|str_|bytes_|object_|void|datetime64|timedelta64|longdouble|clongdouble"
                          r"|intc|uintc|intp|uintp|half|single|double|mean|median)$")

# scipy.sparse containers hold index and value arrays (scikit-learn models keep some);
_SCIPY = """
    scipy.sparse._csr.csr_matrix scipy.sparse._csc.csc_matrix scipy.sparse._coo.coo_matrix
    scipy.sparse._csr.csr_array scipy.sparse._csc.csc_array scipy.sparse._coo.coo_array
    scipy.sparse._lil.lil_matrix scipy.sparse._dok.dok_matrix scipy.sparse._bsr.bsr_matrix
    scipy.sparse._dia.dia_matrix scipy.interpolate._bsplines.BSpline
    scipy._lib.array_api_compat.numpy._aliases.asarray
"""
# BSpline holds knots and coefficients (SplineTransformer); asarray converts its argument.

# joblib writes an array's bytes right after this wrapper; the scanner reads that layout itself.
_JOBLIB = "joblib.numpy_pickle.NumpyArrayWrapper sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"

# TorchScript archives name their own classes (__torch__.*) and helpers that the C++ unpickler of
# torch.jit.load resolves itself; they are admitted only inside a TorchScript archive.
_TORCHSCRIPT_PREFIXES = ("__torch__.", "torch.jit._pickle.")

SAFE_GLOBALS: frozenset[str] = frozenset((_PYTHON + _NUMPY + _SCIPY + _JOBLIB).split())


@dataclass(frozen=True)
class Gadget:
    """A family of dangerous globals: names it covers, severity, and why."""

    names: tuple[str, ...]
    severity: Severity
    reason: str


def _gadget(names: str, severity: Severity, reason: str) -> Gadget:
    return Gadget(tuple(names.split()), severity, reason)


# A name ending in "." covers the whole module and its submodules; other names match exactly.
GADGETS: tuple[Gadget, ...] = (
    _gadget("os. posix. nt. subprocess. _posixsubprocess. pty. asyncio.subprocess. platform.popen",
            "critical", "runs operating-system commands or replaces the process"),
    _gadget("builtins.eval builtins.exec builtins.compile code. codeop. types.FunctionType "
            "types.CodeType numpy.testing._private.utils.runstring",
            "critical", "evaluates or compiles arbitrary Python source or code objects"),
    _gadget("builtins.__import__ importlib. imp. runpy. zipimport. pkgutil. builtins.__loader__",
            "critical", "imports or runs arbitrary modules"),
    _gadget("builtins.getattr builtins.setattr builtins.delattr builtins.globals builtins.locals "
            "builtins.vars builtins.__builtins__ sys. types. operator.attrgetter operator.methodcaller",
            "critical", "reaches arbitrary attributes or interpreter state, the usual way to assemble "
            "a code-execution chain from harmless-looking parts"),
    _gadget("builtins.open io.open _io.open io.FileIO _io.FileIO codecs.open pathlib. shutil. tempfile. "
            "fileinput. glob.",
            "critical", "opens, writes or deletes files"),
    _gadget("pickle. _pickle. cPickle. dill. cloudpickle. shelve. marshal. joblib.load "
            "joblib.numpy_pickle.load torch.load torch.serialization.load torch.serialization._load "
            "torch.serialization._legacy_load torch.save torch.serialization.save torch.jit.load torch.package. "
            "torch.hub. torch.utils.cpp_extension. numpy.load numpy.lib.npyio. numpy.lib._npyio_impl. "
            "pandas.read_pickle pandas.io.pickle. keras.models.load_model",
            "critical", "loads another serialised object or module, whose content this scan never sees"),
    _gadget("timeit. cProfile. profile. pdb. bdb. trace. builtins.breakpoint builtins.input",
            "critical", "profilers and debuggers that execute the code or commands they are given"),
    _gadget("ctypes. _ctypes. cffi. numpy.ctypeslib. numpy.f2py. numpy.distutils. distutils. "
            "setuptools. pip. ensurepip. venv.",
            "critical", "calls native code, or builds and installs packages"),
    _gadget("socket. _socket. ssl. http. urllib. urllib3. requests. httpx. aiohttp. ftplib. smtplib. "
            "poplib. imaplib. telnetlib. xmlrpc. webbrowser. asyncio. multiprocessing. "
            "socketserver. paramiko.",
            "critical", "opens network connections or spawns processes"),
    _gadget("_thread. threading. signal. gc. atexit. builtins.exit builtins.quit",
            "high", "changes interpreter state (threads, signal handlers, exit hooks)"),
    _gadget("functools.partial functools.reduce operator. builtins.map builtins.filter "
            "builtins.apply copy._reconstruct",
            "high", "applies a callable it is given, which can chain other globals into a gadget"),
)

_TORCHSCRIPT_REASON = "a TorchScript class or helper, only admitted inside a TorchScript archive"
_STATE_ONLY_REASON = "a torch.nn module class, admitted when its object is rebuilt from its state"


@dataclass(frozen=True)
class Verdict:
    """What the allowlist says about one global: ``severity`` None means allowed;
    ``constructed_only``: allowed only as the class of an object rebuilt from its state (NEWOBJ
    then BUILD), never called (see ``data/torch_nn.txt``)."""

    severity: Severity | None
    reason: str
    constructed_only: bool = False


class Allowlist:
    """Decide, for a dotted global name, whether reconstructing it is known to be safe.

    Parameters
    ----------
    extra
        Further exact dotted names a site trusts (its own model classes). They never override a
        ``critical`` gadget.

    Examples
    --------
    >>> allow = Allowlist()
    >>> allow.classify("collections", "OrderedDict").severity is None
    True
    >>> allow.classify("posix", "system").severity
    'critical'
    >>> allow.classify("mypackage", "Net").severity
    'medium'
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = frozenset(extra)
        self.safe = SAFE_GLOBALS | derived_globals() | self.extra

    def classify(self, module: str, name: str, *, torchscript: bool = False) -> Verdict:
        """The verdict on the global ``module.name`` (``name`` may be a dotted attribute path)."""
        dotted = f"{module}.{name}"
        gadget = find_gadget(module, name)
        if gadget is not None and gadget.severity == "critical":
            return Verdict("critical", gadget.reason)
        if dotted in self.safe or _NUMPY_TYPES.match(dotted):
            return Verdict(None, "allowlisted")
        if dotted in torch_nn_classes():
            return Verdict(None, _STATE_ONLY_REASON, constructed_only=True)
        if torchscript and dotted.startswith(_TORCHSCRIPT_PREFIXES):
            return Verdict(None, _TORCHSCRIPT_REASON)
        if gadget is not None:
            return Verdict(gadget.severity, gadget.reason)
        if module == "builtins":
            return Verdict("high", "a builtin outside the containers and numbers known to be safe")
        return Verdict("medium", "not in the allowlist of globals known to be safe to reconstruct: "
                                 "loading imports its module and calls it")


def find_gadget(module: str, name: str) -> Gadget | None:
    """The most severe gadget family ``module.name`` belongs to, also through attribute chains.

    The unpickler imports ``module`` and then walks ``name`` attribute by attribute, so
    ``torch.serialization`` + ``os.system`` reaches ``os.system``: every path starting inside
    ``name`` is matched too, and so is any dunder attribute on the way (``__globals__``).

    >>> find_gadget("torch.serialization", "os.system").severity
    'critical'
    >>> find_gadget("numpy", "dtype") is None
    True
    """
    attrs = name.split(".")
    paths = [f"{module}.{name}"] + [".".join(attrs[i:]) for i in range(len(attrs))]
    worst: Gadget | None = None
    for path in paths:
        gadget = _match(path)
        if gadget and (worst is None or _rank(gadget.severity) > _rank(worst.severity)):
            worst = gadget
    if any(_is_dunder(attr) for attr in attrs) and (worst is None or worst.severity != "critical"):
        worst = _DUNDER_ESCAPE
    return worst


_DUNDER_ESCAPE = Gadget((), "critical", "walks dunder attributes (__globals__, __subclasses__, ...) "
                                        "to reach objects the allowlist never names")


def _is_dunder(attr: str) -> bool:
    return len(attr) > 4 and attr.startswith("__") and attr.endswith("__") and attr not in _PLAIN_DUNDERS


# Dunder names that appear in ordinary globals (copyreg.__newobj__, numpy's __randomstate_ctor).
_PLAIN_DUNDERS = frozenset({"__newobj__", "__newobj_ex__", "__main__"})


def _match(dotted: str) -> Gadget | None:
    return _gadget_index().get(dotted) or next(
        (g for prefix, g in _gadget_prefixes() if dotted.startswith(prefix)), None)


@lru_cache(maxsize=1)
def _gadget_index() -> dict[str, Gadget]:
    return {name: g for g in GADGETS for name in g.names if not name.endswith(".")}


@lru_cache(maxsize=1)
def _gadget_prefixes() -> tuple[tuple[str, Gadget], ...]:
    return tuple((name, g) for g in GADGETS for name in g.names if name.endswith("."))


def _rank(severity: Severity) -> int:
    return level_rank(severity)


def severity_rank(severity: str | None) -> int:
    """0 for no finding, then 1 (low) to 4 (critical): for comparisons and sorting."""
    return 0 if severity is None else level_rank(severity) + 1


@lru_cache(maxsize=1)
def derived_globals() -> frozenset[str]:
    """The committed, derived parts of the allowlist (torch weights-only, scikit-learn, and the
    functions stock torch.nn modules keep as attributes)."""
    names: set[str] = set()
    for data_file in ("torch_weights_only.txt", "sklearn.txt"):
        names.update(entry[0] for entry in _entries(data_file))
    names.update(entry[0] for entry in _entries("torch_nn.txt") if entry[1:] == ["function"])
    return frozenset(names)


@lru_cache(maxsize=1)
def torch_nn_classes() -> frozenset[str]:
    """The torch.nn module classes admitted only as objects rebuilt from their state."""
    return frozenset(entry[0] for entry in _entries("torch_nn.txt") if entry[1:] == ["class"])


def _entries(data_file: str) -> list[list[str]]:
    text = resources.files("riskframe.scanning").joinpath(f"data/{data_file}").read_text("utf-8")
    return [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
