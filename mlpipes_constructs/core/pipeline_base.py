"""What every pipeline construct offers, whatever runs it: the IMlPipeline protocol and base."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, Unpack, runtime_checkable

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct, Node

from mlpipes_constructs.core.metrics import MetricOptions

#: The named metric helpers every pipeline construct has -> the statistic they default to.
METRIC_HELPERS: Mapping[str, str] = {
    "started": "Sum",
    "succeeded": "Sum",
    "failed": "Sum",
    "stopped": "Sum",
    "duration": "Average",
}


@runtime_checkable
class IMlPipeline(Protocol):
    """A deployed pipeline, on any orchestrator.

    Attributes:
        pipeline_name: the name the orchestrator knows the pipeline by.
        pipeline_arn: the ARN executions are started on.
        notification_topic: where failed executions are published; None when notifications
            are off.
    """

    @property
    def node(self) -> Node: ...

    @property
    def pipeline_name(self) -> str: ...

    @property
    def pipeline_arn(self) -> str: ...

    @property
    def notification_topic(self) -> sns.ITopic | None: ...

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def metric(self, metric_name: str, **options: Unpack[MetricOptions]) -> cloudwatch.Metric: ...

    def metric_started(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric: ...

    def metric_succeeded(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric: ...

    def metric_failed(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric: ...

    def metric_stopped(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric: ...

    def metric_duration(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric: ...


class MlPipelineBase(Construct):
    """The shared half of a pipeline construct: metrics and the :class:`IMlPipeline` shape.

    A subclass sets :attr:`METRIC_NAMESPACE` and :attr:`METRIC_NAMES` (helper -> the
    orchestrator's metric name), and implements :meth:`_metric_dimensions`,
    :attr:`pipeline_name`, :attr:`pipeline_arn` and :meth:`grant_start_execution`.
    """

    METRIC_NAMESPACE: ClassVar[str]
    #: ``started``, ``succeeded``, ``failed``, ``stopped``, ``duration`` -> metric name.
    METRIC_NAMES: ClassVar[Mapping[str, str]]

    notification_topic: sns.ITopic | None

    @property
    def pipeline_name(self) -> str:
        raise NotImplementedError

    @property
    def pipeline_arn(self) -> str:
        raise NotImplementedError

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        raise NotImplementedError

    def _metric_dimensions(self) -> Mapping[str, str]:
        raise NotImplementedError

    def metric(self, metric_name: str, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """A metric of this pipeline in the orchestrator's namespace (sum over 5 minutes)."""
        settings: dict[str, Any] = {"statistic": "Sum", "period": Duration.minutes(5)}
        settings.update(options)
        settings["dimensions_map"] = {
            **self._metric_dimensions(),
            **(options.get("dimensions_map") or {}),
        }
        return cloudwatch.Metric(
            namespace=self.METRIC_NAMESPACE, metric_name=metric_name, **settings
        )

    def _named_metric(self, helper: str, options: MetricOptions) -> cloudwatch.Metric:
        options.setdefault("statistic", METRIC_HELPERS[helper])
        return self.metric(self.METRIC_NAMES[helper], **options)

    def metric_started(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions started (sum over 5 minutes)."""
        return self._named_metric("started", options)

    def metric_succeeded(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that succeeded (sum over 5 minutes)."""
        return self._named_metric("succeeded", options)

    def metric_failed(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that failed (sum over 5 minutes)."""
        return self._named_metric("failed", options)

    def metric_stopped(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that were stopped or aborted (sum over 5 minutes)."""
        return self._named_metric("stopped", options)

    def metric_duration(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How long executions ran, in milliseconds (average over 5 minutes)."""
        return self._named_metric("duration", options)
