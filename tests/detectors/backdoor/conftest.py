"""The patch scenario trained once per session (the folder is shared with the detector tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the backdoor CNN needs the torch extra")

from riskframe.scenarios.patch_digits import PatchDigits, patch_digits  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    # The suite shares two cores; one thread per training also keeps timings steady.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def patched_digits(tmp_path_factory: pytest.TempPathFactory) -> PatchDigits:
    """5% of the digits' training split patched and relabelled 0, and the CNN trained on it."""
    return patch_digits(tmp_path_factory.getbasetemp() / "patch-digits-5pct-seed0", share=0.05, seed=0)


# Fixtures that train a CNN, build the backdoored-digits example or search it for a trigger (seconds
# to minutes each on two cores): every test using one is in the slow lane, wherever the fixture's
# cost happens to fall (the first user of a session fixture pays for all the others).
TRAINED_FIXTURES = frozenset({"patched_digits", "backdoored", "clean", "files", "workspace", "after_filtering",
                              "small_model", "backdoored_run", "clean_run"})
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE) and TRAINED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
