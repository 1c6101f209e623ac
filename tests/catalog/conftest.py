"""Fixtures shared by the catalog tests: the official files in ``fixtures/`` and what they import to."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskframe.catalog.atlas_import import import_atlas, write_atlas
from riskframe.catalog.model import AtlasCatalog, NistCatalog
from riskframe.catalog.nist_import import import_nist, write_nist
from riskframe.catalog.store import Catalog

FIXTURES = Path(__file__).parent / "fixtures"
ATLAS_FULL = FIXTURES / "ATLAS.yaml"
NIST_CORE = FIXTURES / "nist-ai-rmf-1.0-core.yaml"


@pytest.fixture(scope="session")
def atlas_import() -> tuple[AtlasCatalog, list[str]]:
    """The official ATLAS 5.6.0 release, imported once (about 0.4 s)."""
    return import_atlas(ATLAS_FULL)


@pytest.fixture(scope="session")
def nist() -> NistCatalog:
    return import_nist(NIST_CORE)


@pytest.fixture(scope="session")
def catalog(atlas_import: tuple[AtlasCatalog, list[str]], nist: NistCatalog) -> Catalog:
    return Catalog(atlas_import[0], nist)


@pytest.fixture(scope="session")
def catalog_files(tmp_path_factory: pytest.TempPathFactory, atlas_import: tuple[AtlasCatalog, list[str]],
                  nist: NistCatalog) -> Path:
    """A directory holding the catalogs generated from the fixtures, as ``--catalog-dir`` reads them."""
    directory = tmp_path_factory.mktemp("catalogs")
    write_atlas(atlas_import[0], directory)
    write_nist(nist, directory)
    return directory
