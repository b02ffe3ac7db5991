"""The MLflow server's alarms, and what lets CloudWatch publish them to the encrypted topic."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlpipes_constructs.mlflow import _monitoring

#: What CloudWatch needs of the key to publish alarm notifications to the encrypted topic.
ALARM_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class StorageAlarm:
    """A provisioned database's alarm: free storage low for its allocation."""

    allocated_storage: int
    free_storage: cloudwatch.IMetric


@dataclass(frozen=True)
class CapacityAlarm:
    """A serverless database's alarm: capacity near its maximum."""

    max_capacity: float
    utilization: cloudwatch.IMetric


def _database_alarm(scope: Construct, database: StorageAlarm | CapacityAlarm) -> cloudwatch.Alarm:
    if isinstance(database, CapacityAlarm):
        return cloudwatch.Alarm(
            scope,
            "DatabaseCapacityAlarm",
            alarm_description=(
                f"The MLflow database has used more than {_monitoring.DATABASE_ACU_PERCENT}% of "
                f"its maximum capacity ({database.max_capacity:g} ACUs) for 15 minutes: raise "
                "the sizing's max_capacity."
            ),
            metric=database.utilization,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold=_monitoring.DATABASE_ACU_PERCENT,
            evaluation_periods=_monitoring.DATABASE_ACU_EVALUATION_PERIODS,
            # No data while the database is paused: no load.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
    return cloudwatch.Alarm(
        scope,
        "DatabaseStorageAlarm",
        alarm_description=(
            "The MLflow database has less than 10% of its allocated storage "
            f"({database.allocated_storage} GiB) free: storage autoscaling grows it at most every "
            "6 hours and up to 5 times the allocation, at most 64 TiB."
        ),
        metric=database.free_storage,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold=_monitoring.free_storage_threshold_bytes(database.allocated_storage),
        evaluation_periods=1,
        # A gap says nothing about storage: keep the state.
        treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
    )


def create_alarms(
    scope: Construct,
    *,
    database: StorageAlarm | CapacityAlarm,
    target_group: elbv2.ApplicationTargetGroup,
    healthy_hosts: cloudwatch.IMetric,
    http_5xx: cloudwatch.IMetric,
    database_cpu: cloudwatch.IMetric,
    notification_topic: sns.ITopic,
    auto_scaling_group: autoscaling.AutoScalingGroup,
) -> tuple[cloudwatch.Alarm, ...]:
    """The server's alarms, notifying ``notification_topic`` into and out of alarm."""
    # Each alarm says what a missing data point means for it, rather than CloudWatch's
    # default of waiting in INSUFFICIENT_DATA.
    requests = target_group.metrics.request_count(
        statistic="Sum", period=_monitoring.DEFAULT_PERIOD
    )
    http_5xx_rate = cloudwatch.MathExpression(
        expression=(
            f"IF(requests >= {_monitoring.HTTP_5XX_MIN_REQUESTS}, "
            "100 * FILL(errors, 0) / requests, 0)"
        ),
        using_metrics={"requests": requests, "errors": http_5xx},
        label="Target 5xx responses (% of requests)",
        period=_monitoring.DEFAULT_PERIOD,
    )
    alarms = (
        cloudwatch.Alarm(
            scope,
            "NoHealthyHostAlarm",
            alarm_description=(
                "The MLflow tracking server has not passed its load balancer health check "
                "for 3 minutes: the instance is failing, starting or being replaced. See "
                "the bootstrap and mlflow-server streams of its log group."
            ),
            metric=healthy_hosts,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            threshold=1,
            evaluation_periods=_monitoring.HOST_EVALUATION_PERIODS,
            # No health data means no target to check: the server is down.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        ),
        cloudwatch.Alarm(
            scope,
            "Http5xxAlarm",
            alarm_description=(
                f"More than {_monitoring.HTTP_5XX_PERCENT}% of the requests to the MLflow "
                "tracking server got a 5xx response from it, for 10 minutes."
            ),
            metric=http_5xx_rate,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold=_monitoring.HTTP_5XX_PERCENT,
            evaluation_periods=_monitoring.HTTP_5XX_EVALUATION_PERIODS,
            # No requests, no errors.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ),
        cloudwatch.Alarm(
            scope,
            "DatabaseCpuAlarm",
            alarm_description=(
                f"The MLflow database's CPU has been above {_monitoring.DATABASE_CPU_PERCENT}"
                "% for 15 minutes: consider a larger database_instance_type, or a larger "
                "max_capacity for a serverless database."
            ),
            metric=database_cpu,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold=_monitoring.DATABASE_CPU_PERCENT,
            evaluation_periods=_monitoring.DATABASE_CPU_EVALUATION_PERIODS,
            # A gap (failover, maintenance reboot, a paused serverless database) says
            # nothing about load: keep the state.
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
        ),
        _database_alarm(scope, database),
    )
    action = cloudwatch_actions.SnsAction(notification_topic)
    for alarm in alarms:
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
    # The server is unhealthy until its first bootstrap ends: create the alarms after the
    # Auto Scaling group, which waits for the instance's success signal.
    alarms[0].node.add_dependency(auto_scaling_group)
    return alarms


def allow_alarms_to_notify(stack: Stack, key: kms.IKey, topic: sns.ITopic) -> bool:
    """CloudWatch publishes to the topic as its service principal: the topic policy CDK
    writes for ``enforce_ssl`` replaces SNS's default one, so it needs its own statement,
    and the key policy must let it encrypt the message. Both are limited to alarms of this
    account and region. False when the key is imported and its policy was left alone."""
    conditions = {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {
            "aws:SourceArn": stack.format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name="*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        },
    }
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarms",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=conditions,
        )
    )
    return bool(
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmNotifications",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=list(ALARM_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
                conditions=conditions,
            )
        ).statement_added
    )
