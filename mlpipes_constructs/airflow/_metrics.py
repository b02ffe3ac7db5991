"""Metric options of the Airflow constructs' ``metric*`` helpers: pure values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

#: The namespace MWAA publishes Apache Airflow metrics to.
NAMESPACE = "AmazonMWAA"
DEFAULT_PERIOD = Duration.minutes(5)


class MetricProps(TypedDict, total=False):
    """Overrides of a ``metric*`` helper's defaults: the fields of ``cloudwatch.MetricOptions``.

    ``dimensions_map`` is added to the helper's own dimensions (``Environment`` and, for the
    named helpers, ``Function``).
    """

    account: str
    color: str
    dimensions_map: Mapping[str, str]
    id: str
    label: str
    period: Duration
    region: str
    stack_account: str
    stack_region: str
    statistic: str
    unit: cloudwatch.Unit
    visible: bool


def environment_metric(
    environment_name: str,
    metric_name: str,
    props: MetricProps,
    *,
    dimensions: Mapping[str, str] | None = None,
    statistic: str = "Sum",
) -> cloudwatch.Metric:
    """A metric of one environment: the user's options over the helper's defaults."""
    merged: MetricProps = {"statistic": statistic, "period": DEFAULT_PERIOD}
    merged.update(props)
    dimensions_map = {
        "Environment": environment_name,
        **(dimensions or {}),
        **props.get("dimensions_map", {}),
    }
    merged["dimensions_map"] = dimensions_map
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=metric_name, **merged)
