#!/usr/bin/env bash
# Run the Python package's tests (python/tests) with the system python3;
# exit 77 (skipped) with a message when pytest, pandas or numpy is missing.
# Usage: python_check.sh PYTHON_DIR   (WA1KPCAP_LIBRARY, WA1KPCAP_CLI set by ctest)
set -euo pipefail
py=/usr/bin/python3
if ! "$py" -c 'import pytest, pandas, numpy' 2>/dev/null; then
    echo "skipped: $py lacks pytest, pandas or numpy" \
        "(apt-get install python3-pytest python3-pandas python3-numpy)"
    exit 77
fi
cd "$1"
exec "$py" -m pytest -q -p no:cacheprovider tests
