"""Shared fixtures of the kit's own tests."""
import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

KIT_ROOT = Path(__file__).resolve().parent.parent

# The tests read the English messages; a machine whose locale is Japanese would otherwise
# give its sessions (and their workers) Japanese ones. test_i18n asks for Japanese itself.
os.environ["AUTOGRADER_LANG"] = "en"


@pytest.fixture(scope="session")
def kit_root():
    return KIT_ROOT


@pytest.fixture(scope="session")
def manifest():
    from autograder.manifest import load_manifest
    return load_manifest(reference_root=KIT_ROOT / "reference")
