"""Where the tests find the library, the CLI and the captures: from the
environment ctest sets (WA1KPCAP_LIBRARY, WA1KPCAP_CLI, WA1KPCAP_TEST_DATA),
else the source tree's build/ directory."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..")))


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("WA1KPCAP_CLI", os.path.join(ROOT, "build", "wa1kpcap"))
    if not os.access(path, os.X_OK):
        pytest.skip("no wa1kpcap CLI at %s (build it, or set WA1KPCAP_CLI)" % path)
    return path


@pytest.fixture(scope="session")
def data():
    return os.environ.get("WA1KPCAP_TEST_DATA", os.path.join(ROOT, "tests", "data"))
