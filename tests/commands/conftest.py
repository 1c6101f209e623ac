"""Shared by the command tests: the real-assessment helpers of ``real_assessments.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def real() -> ModuleType:
    """``real_assessments``, loaded by path (pytest's importlib mode puts no test folder on sys.path)."""
    spec = importlib.util.spec_from_file_location("real_assessments", Path(__file__).with_name("real_assessments.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module
