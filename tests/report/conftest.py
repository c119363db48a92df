"""The report tests' stores of real runs, trained once per session."""

from __future__ import annotations

import pytest

from report_stores import Stores, build_stores


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    return build_stores(tmp_path_factory.mktemp("report-stores"))
