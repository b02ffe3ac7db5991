"""The options every ``metric*`` helper of a pipeline construct takes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch


class MetricOptions(TypedDict, total=False):
    """Keyword options of ``metric(name, **options)`` and the named ``metric_*`` helpers.

    The same fields as ``aws_cloudwatch.MetricOptions``; each defaults as CloudWatch's
    does, except ``period`` (5 minutes) and ``statistic`` (``Sum`` for counts, ``Average`` for
    durations). ``dimensions_map`` is added to the construct's own dimensions.
    """

    account: str
    color: str
    dimensions_map: Mapping[str, str]
    label: str
    period: Duration
    region: str
    stack_account: str
    stack_region: str
    statistic: str
    unit: cloudwatch.Unit
    visible: bool
    id: str
