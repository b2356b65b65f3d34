"""Shared fixtures of the audit tests: the bundled data, the registry, every claim's result, and a
writable copy of the data folder for tests that break the registry on purpose."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from metaacu.audit import audit_claims, default_data_dir, load_dataset, load_registry


@pytest.fixture(scope="session")
def dataset():
    return load_dataset()


@pytest.fixture(scope="session")
def registry(dataset):
    return load_registry(dataset=dataset)


@pytest.fixture(scope="session")
def results(dataset, registry):
    return {r.id: r for r in audit_claims(registry=registry, dataset=dataset)}


@pytest.fixture
def data_copy(tmp_path) -> Callable[[Callable[[str], str]], Path]:
    """Copy data/ into a temporary folder, rewrite claims.toml with ``edit`` and return the registry path."""

    def make(edit: Callable[[str], str]) -> Path:
        src = default_data_dir()
        for f in src.glob("*.csv"):
            shutil.copy(f, tmp_path / f.name)
        text = (src / "claims.toml").read_text(encoding="utf-8")
        new = edit(text)
        assert new != text, "the edit did not change the registry"
        (tmp_path / "claims.toml").write_text(new, encoding="utf-8")
        return tmp_path / "claims.toml"

    return make
