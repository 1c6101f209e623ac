"""The dataset memory budget: sizes as people write them, and the environment variable."""

from __future__ import annotations

import pytest

from riskframe.data.budget import DEFAULT_BUDGET, ENV_VAR, Budget, configured_budget, human, parse_size
from riskframe.errors import ArtifactError, UsageError


@pytest.mark.parametrize(("text", "size"), [
    ("1073741824", 1 << 30), ("4GiB", 4 << 30), ("4 gib", 4 << 30), ("500MB", 500 * 10**6), ("1.5G", 3 << 29),
    ("64k", 64 << 10), ("0", 0),
])
def test_sizes_read_as_people_write_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1GB", "4 GiBs", "1e9", "GB"])
def test_what_is_not_a_size_is_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert configured_budget() == DEFAULT_BUDGET == 2 << 30
    monkeypatch.setenv(ENV_VAR, "512MiB")
    assert configured_budget() == 512 << 20
    monkeypatch.setenv(ENV_VAR, "a lot")
    with pytest.raises(UsageError, match=f"^{ENV_VAR}: must be a size such as 4GiB, 500MB or 1073741824. "
                                         "Got 'a lot' instead.$"):
        configured_budget()


def test_a_reservation_is_kept_on_success_and_given_back_on_failure():
    budget = Budget(100)
    with budget.reserve(60, "a"):
        pass
    assert budget.left == 40
    with pytest.raises(RuntimeError), budget.reserve(40, "b"):
        raise RuntimeError("damaged")
    assert budget.left == 40
    refused = r"^c would take 41 B in memory once loaded, more than the dataset memory budget of 100 B \(40 B left"
    with pytest.raises(ArtifactError, match=refused), budget.reserve(41, "c"):
        pass


def test_sizes_are_shown_in_binary_units():
    assert [human(n) for n in (300, 2048, 3 << 20, 47 << 30)] == ["300 B", "2.0 KiB", "3.0 MiB", "47.0 GiB"]
