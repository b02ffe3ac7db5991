"""The processing bootstrap really unpacks a zip asset and runs the entry point with its args."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlpipes_constructs.compile.job_code import (
    BOOTSTRAP,
    MAX_ENTRYPOINT_ITEM_LENGTH,
    processing_entrypoint,
)


def test_entrypoint_runs_the_script_from_the_archive_with_its_arguments(tmp_path: Path) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    with zipfile.ZipFile(code_dir / "asset.zip", "w") as archive:
        archive.writestr("helpers.py", "GREETING = 'hello'\n")
        archive.writestr(
            "job.py",
            "import sys\n"
            "from helpers import GREETING\n"
            "if __name__ == '__main__':\n"
            "    print(GREETING, sys.argv[1:], sys.argv[0].endswith('job.py'))\n",
        )
    command = processing_entrypoint("job.py", str(code_dir))
    command[0] = sys.executable
    result = subprocess.run(
        [*command, "--split", "0.2"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "hello ['--split', '0.2'] True"


def test_bootstrap_has_no_double_quotes_to_escape() -> None:
    assert '"' not in BOOTSTRAP
    assert processing_entrypoint("run.py")[-2:] == ["/opt/ml/processing/input/code", "run.py"]


def test_every_entrypoint_item_fits_sagemaker_limit() -> None:
    assert all(len(item) <= MAX_ENTRYPOINT_ITEM_LENGTH for item in processing_entrypoint("x.py"))
    assert len(BOOTSTRAP) <= MAX_ENTRYPOINT_ITEM_LENGTH


def test_an_entry_point_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than SageMaker's 256 characters"):
        processing_entrypoint("a" * 257 + ".py")
