"""Step Functions: ML state machines compiled from the spec, and the SageMaker tasks CDK lacks.

* :func:`compile_state_machine` turns a pipeline spec into a state machine definition.
* :class:`MlStateMachine` deploys a spec or any CDK chainable with logging, tracing, a timeout,
  failure notifications, least-privilege IAM, metrics and an optional schedule.
* :class:`SageMakerCreateProcessingJob`, :class:`SageMakerCreateHyperParameterTuningJob` and
  :class:`SageMakerStartPipelineExecution` are task states (``sfn.TaskStateBase``) like CDK's
  own (their common options: :class:`TaskStateOptions`);
  :class:`SageMakerRunPipelineExecution` starts a pipeline execution and waits for it.
"""

from mlpipes_constructs.stepfunctions._task_base import TaskStateOptions
from mlpipes_constructs.stepfunctions.compiler import (
    RETRY_ERRORS,
    CompiledStateMachine,
    compile_state_machine,
)
from mlpipes_constructs.stepfunctions.pipeline_execution import SageMakerStartPipelineExecution
from mlpipes_constructs.stepfunctions.processing_job import SageMakerCreateProcessingJob
from mlpipes_constructs.stepfunctions.run_pipeline_execution import SageMakerRunPipelineExecution
from mlpipes_constructs.stepfunctions.state_machine import MlStateMachine
from mlpipes_constructs.stepfunctions.tuning_job import SageMakerCreateHyperParameterTuningJob

__all__ = [
    "RETRY_ERRORS",
    "CompiledStateMachine",
    "MlStateMachine",
    "SageMakerCreateHyperParameterTuningJob",
    "SageMakerCreateProcessingJob",
    "SageMakerRunPipelineExecution",
    "SageMakerStartPipelineExecution",
    "TaskStateOptions",
    "compile_state_machine",
]
