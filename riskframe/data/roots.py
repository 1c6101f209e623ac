"""Where a pipeline's artifact files may be, checked before any of them is opened.

An artifact path (``path``, an npy dataset's ``labels`` file, a ``manifest``) is resolved against
the pipeline file's folder, symbolic links followed, and must land inside that folder or inside one
of the folders the pipeline lists under ``data_roots:``. So a pipeline cannot make riskframe read
``/etc/shadow``, ``../../.ssh/id_rsa`` or a link in the data folder that points at either.

What is found there is checked with ``stat`` alone, never by opening it: datasets, representations,
label files and manifests must be regular files; a model or a ``files`` artifact may also be a
folder. A FIFO, a socket or a device is refused (reading one blocks forever or never ends).

>>> roots = DataRoots(Path("examples/poisoned-digits"))
>>> roots.resolve("data/raw.npz")  # doctest: +SKIP
PosixPath('/work/riskframe/examples/poisoned-digits/data/raw.npz')
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from riskframe.errors import ArtifactError, Problem
from riskframe.spec.pipeline import FOLDER_DATASET_FORMATS

if TYPE_CHECKING:
    from riskframe.spec.pipeline import Artifact, Pipeline

# Artifact types whose path may name a folder (a SavedModel, a folder of files to digest and scan).
FOLDER_TYPES = frozenset({"model", "files"})


def may_be_folder(artifact: Artifact) -> bool:
    """Whether the artifact's path may name a folder: a model, files, or a dataset of shards or images."""
    return artifact.type in FOLDER_TYPES or (artifact.type == "dataset"
                                             and artifact.resolved_format in FOLDER_DATASET_FORMATS)


@dataclass(frozen=True)
class DataRoots:
    """The pipeline's folder (relative paths start there) and the other folders it allows.

    ``extra`` are the pipeline's ``data_roots:`` entries, relative to ``base_dir`` or absolute.
    """

    base_dir: Path
    extra: Sequence[str] = ()
    allowed: tuple[Path, ...] = field(init=False)

    @classmethod
    def of(cls, pipeline: Pipeline) -> DataRoots:
        """The roots of a loaded pipeline: its file's folder and its ``data_roots``."""
        return cls(pipeline.base_dir, tuple(pipeline.data_roots))

    def __post_init__(self) -> None:
        folders = [self.base_dir, *(self.base_dir / root for root in self.extra)]
        object.__setattr__(self, "allowed", tuple(_resolved(folder) for folder in folders))

    def resolve(self, relative: str, field: str = "path") -> Path:
        """The real path (links resolved) of an artifact path, inside the allowed folders.

        Raises
        ------
        ArtifactError
            The path lands outside every allowed folder (blamed on ``field``).
        """
        path = _resolved(self.base_dir / relative)
        if not any(path.is_relative_to(root) for root in self.allowed):
            where = ("the pipeline's folder" if len(self.allowed) == 1
                     else "the pipeline's folder and its data_roots")
            leads = "is" if Path(relative) == path else f"resolves to {path},"
            raise ArtifactError(f"{relative} {leads} outside {where} "
                                f"({', '.join(r.as_posix() for r in self.allowed)}); riskframe reads artifacts "
                                "only there: list the folder under data_roots: in the pipeline to allow it", field)
        return path

    def existing(self, relative: str, field: str = "path", *, folder_ok: bool = False,
                 single: str = "this artifact") -> Path:
        """:meth:`resolve`, then the path must exist and be a regular file (or, with ``folder_ok``,
        a folder), as ``stat`` tells without opening it. ``single`` names what is a single file in
        the message for a folder.

        Raises
        ------
        ArtifactError
            Outside the allowed folders, missing, a folder where a file is needed, or a FIFO,
            socket or device.
        """
        path = self.resolve(relative, field)
        kind = file_kind(path)
        if kind == "missing":
            what = "label file" if field == "labels" else "manifest" if field == "manifest" else "file"
            raise ArtifactError(f"{what} not found: {path}", field)
        if kind == "folder" and not folder_ok:
            raise ArtifactError(f"{path} is a folder; {single} is a single file", field)
        if kind == "special":
            raise ArtifactError(f"{path} is not a regular file (a FIFO, socket or device); riskframe reads only "
                                "regular files and folders, and never opens one of these", field)
        return path


def path_problems(pipeline: Pipeline) -> list[Problem]:
    """What ``riskframe validate`` can tell of a pipeline's paths before its data exists: every
    ``data_roots`` entry is a folder, and every artifact path (and labels file, and manifest) stays
    inside the roots and, where it already exists, is no FIFO, socket or device."""
    source, problems = pipeline.source, []
    for index, root in enumerate(pipeline.data_roots):
        if file_kind(pipeline.base_dir / root) != "folder":
            problems.append(source.problem(("data_roots", index), f"no such folder: {pipeline.base_dir / root}", root))
    roots = DataRoots.of(pipeline)
    for i, stage in enumerate(pipeline.stages):
        for j, artifact in enumerate(stage.artifacts):
            npy_labels = artifact.labels if artifact.resolved_format == "npy" and artifact.type == "dataset" else None
            for key, relative in (("path", artifact.path), ("labels", npy_labels), ("manifest", artifact.manifest),
                                  ("profile", artifact.profile)):
                if relative is None:
                    continue
                try:
                    if file_kind(roots.resolve(relative, key)) == "special":
                        roots.existing(relative, key)  # raises, worded as when assess meets it
                except ArtifactError as exc:
                    problems.append(source.problem(("stages", i, "artifacts", j, key), str(exc), relative))
    return problems


def file_kind(path: Path) -> str:
    """``file``, ``folder``, ``special`` (FIFO, socket, device) or ``missing``, from ``stat`` alone."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # absent, or a symlink loop, a name too long: nothing riskframe can read
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    return "folder" if stat.S_ISDIR(mode) else "special"


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # a symlink loop (Python < 3.13 raises): it cannot exist anyway
        return path.absolute()
