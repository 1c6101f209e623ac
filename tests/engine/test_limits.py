"""Run limits: sizes as people read them, and the default memory share."""

from __future__ import annotations

import os

import pytest

from riskframe.engine.limits import default_memory, format_size, machine_memory


@pytest.mark.parametrize(("n_bytes", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (300 * 2**20, "300 MiB"), (int(1.5 * 2**30), "1.5 GiB"),
    (4 * 2**40, "4 TiB"), (5000 * 2**40, "5000 TiB"),
])
def test_sizes_read_the_way_controls_write_them(n_bytes, text):
    assert format_size(n_bytes) == text


def test_the_default_memory_is_three_quarters_of_the_machine_shared_by_the_parallel_runs():
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < machine_memory() <= physical
    assert default_memory(1) == int(machine_memory() * 0.75)
    assert default_memory(4) == int(machine_memory() * 0.75 / 4)
    assert default_memory(0) == default_memory(1)
