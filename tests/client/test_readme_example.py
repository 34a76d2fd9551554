"""The README's Python example type-checks strictly, and run as a reader would against a real server it prints
what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from mypy import api as mypy

from tests.client.cli import cli_env
from tests.client.conftest import Account
from tests.readme import python_example, python_example_output


def test_the_python_example_runs_against_a_server_and_prints_what_the_readme_shows(
    account: Account, tmp_path: Path
) -> None:
    script = tmp_path / "example.py"
    script.write_text(python_example(), encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=cli_env(**account.env()), timeout=120
    )
    assert ran.returncode == 0, ran.stderr

    def shape(lines: list[str]) -> list[str]:  # the rounds' lines, then one recommendation line
        return ["round" if re.fullmatch(r"round \d: consensus [01]\.\d\d", line) else "text" for line in lines]

    printed = ran.stdout.splitlines()
    assert shape(printed)[-1] == "text" and set(shape(printed)[:-1]) == {"round"}, printed
    shown = shape(python_example_output().splitlines())
    assert shown[-1] == "text" and set(shown[:-1]) == {"round"}, "the README shows what the example prints"


def test_the_python_example_type_checks_strictly(tmp_path: Path) -> None:
    example = tmp_path / "example.py"
    example.write_text(python_example(), encoding="utf-8")
    assert len(python_example().strip().splitlines()) <= 12, "a short example"
    out, errors, status = mypy.run(["--strict", "--no-error-summary", "--config-file", "", str(example)])
    assert status == 0, out + errors
