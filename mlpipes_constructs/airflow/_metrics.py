"""Metric options of the Airflow constructs' ``metric*`` helpers: pure values."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from mlpipes_constructs.core.metrics import MetricOptions

#: The namespace MWAA publishes Apache Airflow metrics to.
NAMESPACE = "AmazonMWAA"
DEFAULT_PERIOD = Duration.minutes(5)


def environment_metric(
    environment_name: str,
    metric_name: str,
    props: MetricOptions,
    *,
    dimensions: Mapping[str, str] | None = None,
    statistic: str = "Sum",
) -> cloudwatch.Metric:
    """A metric of one environment: the user's options over the helper's defaults."""
    merged: MetricOptions = {"statistic": statistic, "period": DEFAULT_PERIOD}
    merged.update(props)
    dimensions_map = {
        "Environment": environment_name,
        **(dimensions or {}),
        **props.get("dimensions_map", {}),
    }
    merged["dimensions_map"] = dimensions_map
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=metric_name, **merged)
