"""Shared fixtures: the seed corpus indexed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of seeds/ with the default encoder, built once per session."""
    from qa import QA

    index = tmp_path_factory.mktemp("seed") / "index"
    QA.build(SEEDS, index, progress=False)
    return index


@pytest.fixture(scope="session")
def seed_qa(seed_index: Path):
    """The seed index, loaded once per session."""
    from qa import QA

    return QA.load(seed_index)
