"""Zip layouts riskframe recognises, and how each member of one is treated.

A zip is ``safe`` only when *every* member was scanned or is known-inert, so this module draws the
line narrowly, per layout, from what the layout's own loader does with each member:

``pickle``
    the loader unpickles it: it must be a pickle, and it is scanned (``data.pkl``,
    ``constants.pkl``, TorchScript's ``*.debug_pkl``...).
``content``
    scanned as whatever its content is (a pickle, an ``.npy``, a nested zip...); content the scan
    does not recognise leaves the file ``unsupported``, since nothing vouches for it.
``bytes``
    the loader hands it back as bytes and never interprets it (TorchScript's ``extra/`` files):
    scanned by content so a pickle there is still judged, but unrecognised content is fine.
``inert``
    known-inert, not read: raw tensor storages of a PyTorch layout (``data/0``: torch copies the
    bytes into a tensor), version and byte-order stamps, TorchScript sources (``code/**.py``:
    compiled by the TorchScript compiler into torch operators, never run by the Python
    interpreter), and the JSON metadata a recognised format's own scanner has read or that its
    loader only reads a version from (skops' ``schema.json``, Keras' ``config.json`` and
    ``metadata.json``).

A member outside the recognised layout's root folder is ``content``. Layouts are recognised from
the member names (a zip's content *is* its member list); the members themselves are then
recognised by content.
"""

from __future__ import annotations

import re
from typing import Literal

Role = Literal["pickle", "content", "bytes", "inert"]

# Written by torch.save and torch.jit.save beside data.pkl; torch reads them as version numbers
# or ids, or not at all.
_TORCH_STAMPS = frozenset({"version", ".data/version", "byteorder", ".format_version", ".storage_alignment",
                           ".data/serialization_id"})
_TORCH_STORAGE = re.compile(r"data/[0-9]+")  # raw tensor bytes, named by the pickle's storage keys
_TORCHSCRIPT_INERT = re.compile(r"code/.+\.py|(constants|traced_inputs)/[0-9]+")


def zip_kind(names: list[str]) -> str:
    """The layout the member names show.

    ``skops``, ``keras`` (Keras v3), ``tf-savedmodel``, ``torchscript``, ``pytorch``, ``npz``,
    or ``zip`` for anything else.

    Examples
    --------
    >>> zip_kind(["model/data.pkl", "model/data/0", "model/version"])
    'pytorch'
    >>> zip_kind(["config.json", "metadata.json", "model.weights.h5"])
    'keras'
    """
    if "schema.json" in names:
        return "skops"
    if "config.json" in names and ("metadata.json" in names or any(n.startswith("model.weights.") for n in names)):
        return "keras"
    if any(n == "saved_model.pb" or n.endswith("/saved_model.pb") for n in names):
        return "tf-savedmodel"
    root = torch_root(names)
    if root is not None:
        scripted = any(n == f"{root}constants.pkl" or n.startswith(f"{root}code/") for n in names)
        return "torchscript" if scripted else "pytorch"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


def torch_root(names: list[str]) -> str | None:
    """The folder (``'model/'``) holding a PyTorch archive's ``data.pkl``, or None.

    torch's reader takes the folder of the archive's *first* member as the root it reads
    ``data.pkl``, storages and stamps from; members elsewhere are scanned by content.

    >>> torch_root(["m/data.pkl", "m/data/0"]), torch_root(["x/readme", "m/data.pkl"])
    ('m/', None)
    """
    if not names or "/" not in names[0]:
        return None
    root = names[0].split("/", 1)[0] + "/"
    return root if f"{root}data.pkl" in names else None


def member_role(kind: str, name: str, root: str | None = None) -> Role:
    """How member ``name`` of a ``kind`` archive is treated (see the module docstring).

    ``root`` is the PyTorch archive's root folder (:func:`torch_root`).

    Examples
    --------
    >>> member_role("pytorch", "model/data/0", "model/")
    'inert'
    >>> member_role("pytorch", "model/notes.txt", "model/")
    'content'
    """
    if kind in ("pytorch", "torchscript") and root is not None and name.startswith(root):
        return _torch_role(kind, name[len(root):])
    if kind == "skops" and name == "schema.json":
        return "inert"  # read and judged by riskframe.scanning.skops_files
    if kind == "keras" and name in ("config.json", "metadata.json"):
        return "inert"  # config read by riskframe.scanning.keras_files; metadata: versions and a date
    return "content"


def _torch_role(kind: str, relative: str) -> Role:
    if relative.endswith((".pkl", ".debug_pkl")):
        return "pickle"
    if relative in _TORCH_STAMPS or _TORCH_STORAGE.fullmatch(relative):
        return "inert"
    if kind == "torchscript":
        if _TORCHSCRIPT_INERT.fullmatch(relative):
            return "inert"
        if relative.startswith("extra/"):
            return "bytes"
    return "content"
