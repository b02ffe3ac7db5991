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

#: SageMaker's limit on each item of ``AppSpecification.ContainerEntrypoint``.
MAX_ENTRYPOINT_ITEM_LENGTH = 256

# The script is an entrypoint item, so it must stay within 256 characters, hence its terse
# style; no double quotes, so it reads the same in a pipeline definition, a state machine and a
# DAG. argv: [-c, code directory, entry point, *job arguments].
BOOTSTRAP = (
    "import glob,runpy,sys,zipfile as z\n"
    "d,e=sys.argv[1:3]\n"
    "for a in sorted(glob.glob(d+'/*.zip')):z.ZipFile(a).extractall(d)\n"
    "sys.path.insert(0,d);sys.argv=[d+'/'+e]+sys.argv[3:]\n"
    "runpy.run_path(sys.argv[0],run_name='__main__')\n"
)


def processing_entrypoint(entry_point: str, code_directory: str = CODE_DIRECTORY) -> list[str]:
    """The ``ContainerEntrypoint`` that unpacks the code archive and runs ``entry_point``.

    The job's own arguments (``ContainerArguments``) follow it and reach the script as
    ``sys.argv[1:]``.
    """
    entrypoint = ["python3", "-c", BOOTSTRAP, code_directory, entry_point]
    too_long = [item for item in entrypoint if len(item) > MAX_ENTRYPOINT_ITEM_LENGTH]
    if too_long:
        raise ValueError(
            f"container entrypoint item '{too_long[0][:40]}...' is longer than SageMaker's "
            f"{MAX_ENTRYPOINT_ITEM_LENGTH} characters"
        )
    return entrypoint
