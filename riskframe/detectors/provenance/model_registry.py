"""Reading an MLflow Model Registry: a model version, the run that produced it, and what the run logged.

Everything is read into plain frozen records (:class:`RegisteredVersion`, :class:`SourceRun`,
:class:`LoggedInput`), so the checks that judge them are pure functions and MLflow is imported only
here. Shared by the ``mlflow-lineage`` and ``registry-approval`` detectors and ``riskframe mlflow tag``.

Where the registry is: the artifact's ``mlflow:`` mapping, else MLflow's own ``MLFLOW_TRACKING_URI``
and ``MLFLOW_REGISTRY_URI``. A ``sqlite:///`` store must already exist (MLflow would create an empty
one, and riskframe writes nothing while assessing); a relative one declared in a pipeline is
relative to the pipeline file and must stay inside its folders, like every artifact path.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from riskframe.data.roots import DataRoots
from riskframe.errors import MissingDependencyError, ModelRegistryError
from riskframe.spec.pipeline import MODEL_URI, RegisteredModel

_URI = re.compile(MODEL_URI)
_SQLITE = "sqlite:///"
# MLflow's error codes for a name, version or alias the registry does not hold.
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


@dataclass(frozen=True)
class ModelRef:
    """``models:/NAME/VERSION`` or ``models:/NAME@alias``."""

    name: str
    version: str | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, uri: str) -> ModelRef:
        """
        >>> ModelRef.parse("models:/digits@champion")
        ModelRef(name='digits', version=None, alias='champion')
        """
        match = _URI.match(uri)
        if match is None:
            raise ValueError(f"{uri!r} is not a model URI; write models:/NAME/VERSION or models:/NAME@alias")
        return cls(match["name"], match["version"], match["alias"])

    def __str__(self) -> str:
        return f"models:/{self.name}/{self.version}" if self.version else f"models:/{self.name}@{self.alias}"


@dataclass(frozen=True)
class LoggedInput:
    """One dataset input of a run, as MLflow's dataset tracking recorded it."""

    name: str
    digest: str  # MLflow's own fingerprint (8 hex digits of an MD5 over at most 10,000 values)
    source_type: str
    source: str  # MLflow's JSON description of where the data was read from
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def context(self) -> str | None:
        return self.tags.get("mlflow.data.context")

    @property
    def location(self) -> str | None:
        """The path or URL in the source description, if it names one."""
        try:
            described = json.loads(self.source)
        except ValueError:
            return None
        if not isinstance(described, dict):
            return None
        found = next((described[k] for k in ("uri", "url", "path", "path_or_url") if isinstance(described.get(k), str)),
                     None)
        return str(found) if found is not None else None


@dataclass(frozen=True)
class SourceRun:
    """The run a model version names as its source."""

    run_id: str
    experiment_id: str
    name: str
    status: str
    git_commit: str | None
    params: Mapping[str, str]
    inputs: tuple[LoggedInput, ...]


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version, its tags and (when it names one that exists) its source run."""

    declared: ModelRef
    name: str
    version: str
    source: str
    run_id: str | None
    tags: Mapping[str, str]
    run: SourceRun | None
    tracking_uri: str  # as shown: credentials removed
    registry_uri: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


class ModelRegistry:
    """A connection to one tracking store and Model Registry.

    Parameters
    ----------
    tracking_uri, registry_uri
        MLflow URIs (``http://mlflow:5000``, ``sqlite:////abs/mlflow.db``, ...), already resolved.

    Raises
    ------
    MissingDependencyError
        MLflow is not installed (the ``mlflow`` extra).
    """

    def __init__(self, tracking_uri: str, registry_uri: str | None = None) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise MissingDependencyError("mlflow", "mlflow") from None
        self.tracking_uri, self.registry_uri = tracking_uri, registry_uri or tracking_uri
        self.shown = shown_uri(self.tracking_uri)
        with _mlflow_calls(self.shown):
            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def version(self, ref: ModelRef) -> RegisteredVersion | None:
        """The version ``ref`` names (an alias resolved), with its source run; None when the registry
        holds no such model, version or alias.

        Raises
        ------
        ModelRegistryError
            The registry cannot be reached or refuses the request.
        """
        with _mlflow_calls(self.shown):
            found = self._lookup(ref)
            if found is None:
                return None
            run = self._run(found.run_id) if found.run_id else None
        return RegisteredVersion(
            declared=ref, name=found.name, version=str(found.version), source=str(found.source or ""),
            run_id=found.run_id or None, tags=dict(found.tags or {}), run=run, tracking_uri=self.shown,
            registry_uri=shown_uri(self.registry_uri))

    def set_tags(self, name: str, version: str, tags: Mapping[str, str]) -> None:
        """Write ``tags`` on a model version (the promotion gate's record)."""
        with _mlflow_calls(self.shown):
            for key, value in tags.items():
                self._client.set_model_version_tag(name, version, key, value)

    def _lookup(self, ref: ModelRef) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            if ref.alias is None:
                return self._client.get_model_version(ref.name, str(ref.version))
            return self._client.get_model_version_by_alias(ref.name, ref.alias)
        except MlflowException as exc:
            # An unknown alias is reported as an invalid parameter; the alias is the only one.
            if exc.error_code in _NOT_FOUND or (ref.alias and exc.error_code == "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def _run(self, run_id: str) -> SourceRun | None:
        from mlflow.exceptions import MlflowException

        try:
            run = self._client.get_run(run_id)
        except MlflowException as exc:
            if exc.error_code in _NOT_FOUND:
                return None
            raise
        inputs = tuple(
            LoggedInput(name=i.dataset.name, digest=i.dataset.digest, source_type=i.dataset.source_type,
                        source=i.dataset.source, tags={t.key: t.value for t in i.tags})
            for i in (run.inputs.dataset_inputs if run.inputs else ()))
        return SourceRun(run_id=run.info.run_id, experiment_id=str(run.info.experiment_id),
                         name=run.info.run_name or "", status=run.info.status,
                         git_commit=run.data.tags.get("mlflow.source.git.commit"),
                         params=dict(run.data.params), inputs=inputs)


def open_registry(declared: RegisteredModel, roots: DataRoots) -> ModelRegistry:
    """The registry an artifact's ``mlflow:`` names, its URIs resolved (see the module docstring).

    Raises
    ------
    ModelRegistryError
        No tracking URI is known, or a sqlite store does not exist.
    ArtifactError
        A relative sqlite store declared in the pipeline leads outside its folders.
    """
    tracking = (_pipeline_uri(declared.tracking_uri, roots, "mlflow.tracking_uri")
                or _environment_uri("MLFLOW_TRACKING_URI"))
    if tracking is None:
        raise ModelRegistryError(f"{declared.model}: no tracking URI: give mlflow.tracking_uri in the pipeline "
                                 "or set MLFLOW_TRACKING_URI")
    registry = (_pipeline_uri(declared.registry_uri, roots, "mlflow.registry_uri")
                or _environment_uri("MLFLOW_REGISTRY_URI") or tracking)
    return ModelRegistry(tracking, registry)


def _pipeline_uri(uri: str | None, roots: DataRoots, field_name: str) -> str | None:
    if uri is None or not uri.startswith(_SQLITE):
        return uri
    path, query = _sqlite_path(uri)
    return _existing_sqlite(roots.resolve(path, field_name), query, uri)


def _environment_uri(name: str) -> str | None:
    uri = os.environ.get(name) or None
    if uri is None or not uri.startswith(_SQLITE):
        return uri
    path, query = _sqlite_path(uri)
    return _existing_sqlite(Path(path).resolve(), query, f"${name} ({uri})")


def _sqlite_path(uri: str) -> tuple[str, str]:
    path, _, query = uri[len(_SQLITE):].partition("?")
    return path, query


def _existing_sqlite(path: Path, query: str, shown: str) -> str:
    if not path.is_file():
        raise ModelRegistryError(f"tracking store {shown} does not exist ({path}); riskframe opens an existing "
                                 "MLflow store and never creates one")
    return f"{_SQLITE}{path.as_posix()}" + (f"?{query}" if query else "")


def shown_uri(uri: str) -> str:
    """``uri`` without a user name or password, for messages, evidence and reports.

    >>> shown_uri("https://ci:s3cret@mlflow.example.org/")
    'https://***@mlflow.example.org/'
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


@contextmanager
def _mlflow_calls(shown: str) -> Iterator[None]:
    """MLflow quiet and with short HTTP timeouts; its failures as one :class:`ModelRegistryError`."""
    from riskframe.tracking.mlflow_log import _quiet_mlflow, _reason, _short_http_timeouts

    with _quiet_mlflow(), _short_http_timeouts():
        try:
            yield
        except (ModelRegistryError, MissingDependencyError):
            raise
        except Exception as exc:  # HTTP, SQL and URI-scheme failures take many forms: one message for all
            raise ModelRegistryError(f"MLflow at {shown}: {_reason(exc)}") from exc
