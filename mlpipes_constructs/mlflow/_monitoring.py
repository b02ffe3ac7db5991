"""Metric defaults and alarm thresholds of the MLflow server: pure values, no resources."""

from __future__ import annotations

from aws_cdk import Duration

from mlpipes_constructs.core.metrics import MetricOptions

#: The load balancer publishes target health every minute: the host alarms look at minutes.
HOST_PERIOD = Duration.minutes(1)
#: Three one-minute periods: longer than a health-check blip (3 failed checks of 30 s are
#: needed to mark a target unhealthy), short enough to page while the server is down.
HOST_EVALUATION_PERIODS = 3
DEFAULT_PERIOD = Duration.minutes(5)
#: Database CPU above this percentage for 3 five-minute periods (15 minutes) raises an alarm.
DATABASE_CPU_PERCENT = 80
DATABASE_CPU_EVALUATION_PERIODS = 3
#: A serverless database above this percentage of its maximum ACUs for 3 five-minute periods
#: (15 minutes) raises an alarm: it is about to be capped.
DATABASE_ACU_PERCENT = 90
DATABASE_ACU_EVALUATION_PERIODS = 3
#: Free storage below this fraction of the allocated storage raises an alarm. At the initial
#: size it is also where RDS storage autoscaling starts growing the volume, which it does at
#: most every 6 hours and up to 5 times the initial size: the alarm says growth outpaces it.
FREE_STORAGE_FRACTION = 0.1
#: Target 5xx responses above this percentage of requests, in 2 consecutive 5-minute periods.
HTTP_5XX_PERCENT = 5
HTTP_5XX_EVALUATION_PERIODS = 2
#: Fewer requests than this in a period never raise the 5xx alarm: on a quiet server one
#: failed request out of three is not an incident.
HTTP_5XX_MIN_REQUESTS = 20
GIB = 1024**3


def with_defaults(props: MetricOptions, *, statistic: str, period: Duration) -> MetricOptions:
    """``props`` over a helper's default statistic and period: the user's choice wins."""
    merged: MetricOptions = {"statistic": statistic, "period": period}
    merged.update(props)
    return merged


def free_storage_threshold_bytes(allocated_storage_gib: int) -> float:
    """The free-storage alarm threshold for a database of ``allocated_storage_gib`` GiB."""
    return allocated_storage_gib * GIB * FREE_STORAGE_FRACTION
