"""The reference a dataset is checked against: the profile its declaration names (``profile:``)."""

from __future__ import annotations

from typing import Any

from riskframe.detectors.drift.profile import Profile, read_profile
from riskframe.errors import NotApplicableError


def reference_profile(ctx: Any) -> tuple[Profile, str]:
    """The bound dataset's profile and its path as declared.

    Raises
    ------
    NotApplicableError
        The dataset declares no profile (the check has nothing to compare with).
    ArtifactError
        The profile is outside the roots, missing, or not a riskframe profile.
    """
    artifact = ctx.artifact("dataset")
    if artifact.profile is None:
        raise NotApplicableError(
            f"dataset {artifact.name!r} declares no `profile:` to check it against; profile the reference data "
            "(e.g. the training set) with `riskframe profile DATASET --out FILE` and name FILE under `profile:`")
    path = ctx.store.roots.existing(artifact.profile, "profile", single="a profile")
    return read_profile(path), artifact.profile
