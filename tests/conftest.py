"""Shared fixtures of the kit's own tests."""
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

KIT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def kit_root():
    return KIT_ROOT


@pytest.fixture(scope="session")
def manifest():
    from autograder.manifest import load_manifest
    return load_manifest(reference_root=KIT_ROOT / "reference")
