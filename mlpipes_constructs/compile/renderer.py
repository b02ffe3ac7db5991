"""What a compiler implements to write the SageMaker requests in its expression language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlpipes_constructs.compile.placement import JobPlacement
from mlpipes_constructs.spec import ProcessingStep

#: A value of a request: a JSON constant, or the renderer's expression for a run-time value.
RequestValue = Any
#: A request body: the JSON object a SageMaker API takes, with expressions where values are
#: only known at run time.
Request = dict[str, RequestValue]


class ValueRenderer(Protocol):
    """Writes spec values in one orchestrator's expression language.

    SageMaker Pipelines writes ``{"Get": ...}`` and ``Std:Join``, Step Functions JSONPath and
    intrinsic functions, Airflow templates and XCom, KFP task outputs. The request bodies in
    :mod:`mlpipes_constructs.compile.requests` are built only through these methods.
    """

    def value(self, value: object) -> RequestValue:
        """A constant as it is; a reference or a ``Join`` as a run-time expression."""
        ...

    def text(self, value: object) -> RequestValue:
        """``value`` where the API takes only strings (arguments, hyperparameters)."""
        ...

    def location(self, destination: object | None, *default_keys: str) -> RequestValue:
        """The S3 location a step writes to: ``destination``, or the run root's ``default_keys``
        (see :mod:`mlpipes_constructs.compile.locations`) when there is none."""
        ...

    def code_location(self, step: ProcessingStep) -> RequestValue:
        """The S3 URI of the zip of a processing step's code directory."""
        ...


@dataclass(frozen=True)
class JobContext:
    """What every job request shares: who runs it, and how it is isolated and encrypted.

    Attributes:
        role_arn: the role jobs run as and models are created with (opaque text: it may be a
            CDK token or a template expression).
        kms_key_id: the key for job volumes and outputs. None: the service's default encryption.
        placement: the VPC placement of jobs and models. None: no VPC configuration.
        environment: variables every processing and training job gets besides its own (the
            MLflow tracking variables, see :mod:`mlpipes_constructs.compile.tracking`); a
            step's own variable of the same name wins. Default: none.
    """

    role_arn: str
    kms_key_id: str | None = None
    placement: JobPlacement | None = None
    environment: Mapping[str, RequestValue] = field(default_factory=dict)
