"""What a test does when a Debian package it needs is missing: skip, except under CI.

``make test`` installs the packages (``tools/system_deps.sh``); CI runs it, so under ``CI=true``
a missing package means the set-up failed, and the tests that need it fail rather than skip.
"""

import os

import pytest


def missing_system(reason: str):
    """Skip the test with ``reason``, or fail it under ``CI=true``."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing system package fails the test, not skips it)", pytrace=False)
    pytest.skip(reason)
