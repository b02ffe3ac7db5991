"""What every pipeline construct shares, whatever orchestrator runs it.

* :class:`IMlPipeline` and :class:`MlPipelineBase`: ``pipeline_name``, ``pipeline_arn``,
  ``grant_start_execution``, ``metric(name, **options)`` and the named ``metric_*`` helpers.
* :class:`JobPlacementOptions` (``placement=``), :class:`FailureNotifications`
  (``notifications=``) and :class:`MetricOptions` (the metric helpers' keyword options).
* :class:`MlflowTracking` (``tracking=``): the MLflow server the jobs log to.
"""

from mlpipes_constructs.core.metrics import MetricOptions
from mlpipes_constructs.core.notifications import FailureNotifications
from mlpipes_constructs.core.pipeline_base import IMlPipeline, MlPipelineBase
from mlpipes_constructs.core.placement import JobPlacementOptions
from mlpipes_constructs.core.tracking import MlflowTracking

__all__ = [
    "FailureNotifications",
    "IMlPipeline",
    "JobPlacementOptions",
    "MetricOptions",
    "MlPipelineBase",
    "MlflowTracking",
]
