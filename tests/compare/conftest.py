"""The report tests' assessment (a digits flip, a waived result, an error...) serves the baseline's tests too."""

from tests.reports.conftest import assessment, make_result  # noqa: F401
