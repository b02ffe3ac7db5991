"""How a processing job runs local code that the constructs upload as a zip asset.

CDK uploads a directory asset as one zip archive. A processing job downloads it into
:data:`CODE_DIRECTORY` through an input named :data:`CODE_INPUT_NAME`; the container entrypoint
from :func:`processing_entrypoint` unpacks it there and runs the entry point as ``__main__``
with the job's arguments, the way the SageMaker SDK's framework processors unpack their
``sourcedir.tar.gz``. Every orchestrator compiler uses this one convention.
"""

from __future__ import annotations

CODE_INPUT_NAME = "code"
CODE_DIRECTORY = "/opt/ml/processing/input/code"

# Kept on one line per statement and free of quotes that need escaping, so it reads the same in
# a pipeline definition, a state machine and a DAG. argv: [-c, code directory, entry point, *args].
BOOTSTRAP = (
    "import glob, os, runpy, sys, zipfile\n"
    "code_dir, entry_point = sys.argv[1], sys.argv[2]\n"
    "for archive in sorted(glob.glob(os.path.join(code_dir, '*.zip'))):\n"
    "    zipfile.ZipFile(archive).extractall(code_dir)\n"
    "sys.path.insert(0, code_dir)\n"
    "sys.argv = [os.path.join(code_dir, entry_point)] + sys.argv[3:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def processing_entrypoint(entry_point: str, code_directory: str = CODE_DIRECTORY) -> list[str]:
    """The ``ContainerEntrypoint`` that unpacks the code archive and runs ``entry_point``.

    The job's own arguments (``ContainerArguments``) follow it and reach the script as
    ``sys.argv[1:]``.
    """
    return ["python3", "-c", BOOTSTRAP, code_directory, entry_point]
