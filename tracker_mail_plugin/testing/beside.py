"""Run test cases in their own pytest, beside a copy of a tests directory's conftest.py.

For checks that live in a conftest hook (e.g. holding fakes to a vendor's description after
each test): only a test run shows what the hook does to a test, so a test of the hook runs one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_beside(tests: Path, cases: str, workdir: Path, env: Mapping[str, str] | None = None) -> str:
    """Run ``cases`` (a test module's text) beside ``tests``' conftest.py and fixtures/.

    Args:
        tests: the tests directory whose ``conftest.py`` (and ``fixtures/``, if any) to use.
        cases: the source of the test module to run.
        workdir: an empty directory to run in (pytest's ``tmp_path``).
        env: variables added to this process's environment for the run.

    Returns:
        pytest's report (``-rA``, short tracebacks), for the caller to assert on.
    """
    shutil.copy(tests / "conftest.py", workdir / "conftest.py")
    if (tests / "fixtures").is_dir():
        (workdir / "fixtures").symlink_to(tests / "fixtures")
    (workdir / "test_cases.py").write_text(cases, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA"]
    run = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [*command, "--tb=short"],
        cwd=workdir,
        env=os.environ | dict(env or {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return run.stdout
