"""MITRE ATLAS and NIST AI RMF catalogs: import from official releases, look up, suggest."""

from riskframe.catalog.store import Catalog, catalog_dir, load_catalog

__all__ = ["Catalog", "catalog_dir", "load_catalog"]
