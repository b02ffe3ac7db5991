"""MlflowServer and MlflowStack: synthesized resources, compliance and bad props."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk.assertions import Annotations, Match, Template
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlpipes_app import STACK_CATALOG, AppConfig, build_app
from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.mlflow import (
    DEFAULT_MLFLOW_VERSION,
    MlflowServer,
    MlflowSizing,
    ServerlessDatabase,
)
from mlpipes_constructs.mlflow._bootstrap import AGENT_CONFIG, LOG_FILE
from mlpipes_constructs.mlflow._database import AURORA_AUTO_PAUSE_MIN_VERSION
from mlpipes_constructs.mlflow._props import (
    AUTO_PAUSE_SERVER_ENVIRONMENT,
    BOTO3_VERSION,
    DEFAULT_PARAMETER_NAME,
    PSYCOPG2_BINARY_VERSION,
    REQUIREMENTS_DIR,
    SERVER_PORT,
)
from mlpipes_constructs.stacks import FoundationStack, MlflowStack
from tests.conftest import TEST_ENV, SynthesizedApp
from tests.unit.mlflow.conftest import CERTIFICATE_ARN, CUSTOM_CONSTRAINTS, BuiltServer

README = Path(__file__).resolve().parents[3] / "README.md"
SHIPPED_CONSTRAINTS = REQUIREMENTS_DIR / f"mlflow-{DEFAULT_MLFLOW_VERSION}.txt"
INSTALL = (
    "/opt/mlflow/venv/bin/pip install --no-cache-dir --disable-pip-version-check "
    "--constraint /opt/mlflow/constraints.txt "
)

# --- helpers ----------------------------------------------------------------------------


def _only(template: Template, resource_type: str) -> dict[str, Any]:
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, sorted(resources)
    (resource,) = resources.values()
    return dict(resource)


def _user_data(template: Template) -> str:
    """The launch template's user data with references rendered as ``{...}`` JSON."""
    launch_template = _only(template, "AWS::EC2::LaunchTemplate")
    parts = launch_template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    return "".join(
        part if isinstance(part, str) else json.dumps(part) for part in parts["Fn::Join"][1]
    )


def _ingress_rules(template: Template) -> list[dict[str, Any]]:
    rules = []
    for group in template.find_resources("AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupIngress", [])
    rules += [
        rule["Properties"]
        for rule in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
    ]
    return rules


def _logical_id(template: Template, resource_type: str, props: dict[str, Any]) -> str:
    found = template.find_resources(resource_type, {"Properties": props})
    assert len(found) == 1, found
    return next(iter(found))


def _pins(text: str) -> dict[str, str]:
    """Package -> version of a constraints file, parsed with ``packaging`` (not our parser)."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        assert not requirement.extras and requirement.marker is None, line
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{name} is pinned twice"
        pins[name] = specifier.version
    return pins


def _warnings(construct: MlflowServer) -> list[str]:
    """Warnings added to the construct itself, read without synthesizing."""
    return [str(entry.data) for entry in construct.node.metadata if entry.type == "aws:cdk:warning"]


def _bundled_server(bundled_app: SynthesizedApp) -> MlflowServer:
    stack = bundled_app.stacks["mlflow"]
    assert isinstance(stack, MlflowStack)
    return stack.server


def _alarm(template: Template, **properties: Any) -> dict[str, Any]:
    found = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": properties})
    assert len(found) == 1, sorted(found)
    (alarm,) = found.values()
    return dict(alarm)


# --- the bundled stack (default props) ------------------------------------------------


def test_auto_scaling_group_keeps_exactly_one_instance_replaced_on_elb_health(
    bundled_mlflow: Template,
) -> None:
    group = _only(bundled_mlflow, "AWS::AutoScaling::AutoScalingGroup")
    properties = group["Properties"]
    assert properties["MinSize"] == "1" and properties["MaxSize"] == "1"
    assert "DesiredCapacity" not in properties  # a deploy never resets a replaced instance
    assert properties["HealthCheckType"] == "ELB"
    # The health check waits as long as CloudFormation waits for the bootstrap, so a slow
    # install is not replaced mid-way.
    assert properties["HealthCheckGracePeriod"] == 1200
    assert properties["NotificationConfigurations"][0]["NotificationTypes"]
    assert group["CreationPolicy"]["ResourceSignal"] == {"Count": 1, "Timeout": "PT20M"}
    assert group["UpdatePolicy"]["AutoScalingRollingUpdate"]["WaitOnResourceSignals"] is True


def test_launch_template_requires_imdsv2_encrypts_the_volume_and_has_no_ssh_key(
    bundled_mlflow: Template,
) -> None:
    data = _only(bundled_mlflow, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["InstanceType"] == "t4g.medium"  # MlflowSizing.SMALL_TEAM
    assert "KeyName" not in data
    (device,) = data["BlockDeviceMappings"]
    ebs = device["Ebs"]
    assert ebs["Encrypted"] is True and ebs["VolumeType"] == "gp3"
    assert "PlatformKey" in json.dumps(ebs["KmsKeyId"])  # the foundation's key
    assert data["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is False
    # Graviton image from the public SSM parameter, resolved at deploy time.
    image_parameter = data["ImageId"]["Ref"]
    default = bundled_mlflow.to_json()["Parameters"][image_parameter]["Default"]
    assert default.startswith("/aws/service/ami-amazon-linux-latest/al2023-ami-")
    assert default.endswith("arm64")


def test_provisioned_database_is_encrypted_protected_backed_up_and_snapshotted(
    production_mlflow: Template,
) -> None:
    bundled_mlflow = production_mlflow
    database = _only(bundled_mlflow, "AWS::RDS::DBInstance")
    properties = database["Properties"]
    assert database["DeletionPolicy"] == "Snapshot"
    assert database["UpdateReplacePolicy"] == "Snapshot"
    # The major version only, kept up to date by RDS: a pinned minor is retired one day and
    # a fresh deploy of it then fails.
    assert properties["Engine"] == "postgres" and properties["EngineVersion"] == "16"
    assert properties["AutoMinorVersionUpgrade"] is True
    assert database["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["W3691"]}}
    assert properties["AllocatedStorage"] == "20" and properties["MaxAllocatedStorage"] == 100
    assert properties["StorageEncrypted"] is True
    assert "PlatformKey" in json.dumps(properties["KmsKeyId"])
    assert properties["DeletionProtection"] is True
    assert properties["BackupRetentionPeriod"] == 7
    assert properties["MultiAZ"] is True
    assert properties["PubliclyAccessible"] is False
    assert properties["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert properties["Port"] == "5433"
    # The password is a dynamic reference to the generated secret, never a literal.
    password = json.dumps(properties["MasterUserPassword"])
    assert "{{resolve:secretsmanager:" in password
    bundled_mlflow.has_resource_properties(
        "AWS::RDS::DBParameterGroup",
        {"Family": "postgres16", "Parameters": Match.object_like({"rds.force_ssl": "1"})},
    )


def test_provisioned_database_log_groups_are_created_encrypted_before_the_database(
    production_mlflow: Template,
) -> None:
    bundled_mlflow = production_mlflow
    database = _only(bundled_mlflow, "AWS::RDS::DBInstance")
    identifier = database["Properties"]["DBInstanceIdentifier"]
    for export in ("postgresql", "upgrade"):
        logical_id = _logical_id(
            bundled_mlflow,
            "AWS::Logs::LogGroup",
            {"LogGroupName": f"/aws/rds/instance/{identifier}/{export}"},
        )
        assert logical_id in database["DependsOn"]
        group = bundled_mlflow.find_resources("AWS::Logs::LogGroup")[logical_id]
        assert "KmsKeyId" in group["Properties"]


def _retained_log_group_names(template: Template) -> list[str]:
    return sorted(
        group["Properties"]["LogGroupName"]
        for group in template.find_resources(
            "AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"}
        ).values()
        if isinstance(group["Properties"].get("LogGroupName"), str)
    )


def test_docstring_says_which_retained_log_groups_block_a_redeploy(
    bundled_mlflow: Template, production_mlflow: Template
) -> None:
    cluster = _only(bundled_mlflow, "AWS::RDS::DBCluster")["Properties"]["DBClusterIdentifier"]
    assert _retained_log_group_names(bundled_mlflow) == [f"/aws/rds/cluster/{cluster}/postgresql"]
    database = _only(production_mlflow, "AWS::RDS::DBInstance")
    identifier = database["Properties"]["DBInstanceIdentifier"]
    assert _retained_log_group_names(production_mlflow) == [
        f"/aws/rds/instance/{identifier}/{export}" for export in ("postgresql", "upgrade")
    ]
    doc = " ".join((MlflowServer.__doc__ or "").split())
    assert "``/aws/rds/cluster/mlflow-<id>/postgresql`` for Aurora" in doc
    assert "``/aws/rds/instance/mlflow-<id>/postgresql`` and ``.../upgrade`` for RDS" in doc
    assert 'fails with "already exists" until you delete them' in doc


def test_secrets_are_generated_and_encrypted_with_the_platform_key(
    bundled_mlflow: Template,
) -> None:
    secrets = bundled_mlflow.find_resources("AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for secret in secrets.values():
        properties = secret["Properties"]
        assert "SecretString" not in properties
        assert "GenerateSecretString" in properties
        assert "PlatformKey" in json.dumps(properties["KmsKeyId"])
    bundled_mlflow.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "GenerateSecretString": Match.object_like(
                {
                    "SecretStringTemplate": '{"username": "admin"}',
                    "GenerateStringKey": "password",
                    "PasswordLength": 32,
                }
            )
        },
    )


def test_load_balancer_is_internal_logged_and_checks_mlflow_health(
    bundled_mlflow: Template,
) -> None:
    balancer = _only(bundled_mlflow, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert balancer["Scheme"] == "internal"
    attributes = {item["Key"]: item["Value"] for item in balancer["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.prefix"] == "mlflow-alb"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    assert balancer["Name"] == balancer["Name"].lower()  # lower-case DNS name for Host checks
    listener = _only(bundled_mlflow, "AWS::ElasticLoadBalancingV2::Listener")["Properties"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)
    target_group = _only(bundled_mlflow, "AWS::ElasticLoadBalancingV2::TargetGroup")
    properties = target_group["Properties"]
    assert properties["Port"] == 5000
    assert properties["HealthCheckPath"] == "/health"
    assert properties["Matcher"] == {"HttpCode": "200"}


def test_security_groups_open_only_the_vpc_and_the_server_path(bundled_mlflow: Template) -> None:
    rules = _ingress_rules(bundled_mlflow)
    cidr_rules = [rule for rule in rules if "CidrIp" in rule or "CidrIpv6" in rule]
    assert cidr_rules == [
        {
            "CidrIp": "10.0.0.0/16",
            "Description": "MLflow clients in the allowed networks",
            "FromPort": 80,
            "IpProtocol": "tcp",
            "ToPort": 80,
        }
    ]
    ports = sorted((rule["FromPort"], rule["ToPort"]) for rule in rules)
    assert ports == [(80, 80), (5000, 5000), (5433, 5433)]  # clients, ALB->server, server->DB
    assert all(rule["FromPort"] > 22 or rule["ToPort"] < 22 for rule in rules)


def test_no_secret_value_or_open_ingress_in_the_templates(
    bundled_app: SynthesizedApp, https_server: BuiltServer
) -> None:
    templates = {
        "mlflow": bundled_app.template("mlflow"),
        "foundation": bundled_app.template("foundation"),
        "https": https_server.template.to_json(),
    }
    for name, template in templates.items():
        text = json.dumps(template)
        assert "password1234" not in text, name
        for resource in template["Resources"].values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::SecretsManager::Secret":
                assert "SecretString" not in properties, name
            rules = properties.get("SecurityGroupIngress", [])
            if resource["Type"] == "AWS::EC2::SecurityGroupIngress":
                rules = [properties]
            for rule in rules:
                assert rule.get("CidrIp") != "0.0.0.0/0", name
                assert rule.get("CidrIpv6") != "::/0", name
    for synthesized in (Template.from_json(templates["mlflow"]), https_server.template):
        user_data = _user_data(synthesized)
        assert "password" not in user_data.lower()
        assert "SecretString" not in user_data


def test_user_data_installs_pinned_mlflow_and_runs_the_launcher_as_a_service(
    bundled_mlflow: Template,
) -> None:
    user_data = _user_data(bundled_mlflow)
    assert f"'mlflow[auth]=={DEFAULT_MLFLOW_VERSION}'" in user_data
    assert "psycopg2-binary==" in user_data and "boto3==" in user_data
    assert "python3.11 -m venv /opt/mlflow/venv" in user_data
    assert "aws s3 cp 's3://cdk-" in user_data and "'/opt/mlflow/launcher.py'" in user_data
    assert "ExecStart=/opt/mlflow/venv/bin/python /opt/mlflow/launcher.py" in user_data
    assert "systemctl enable --now mlflow.service" in user_data
    assert "MLPIPES_MLFLOW_DB_SECRET_ARN=" in user_data
    assert "MLPIPES_MLFLOW_ADMIN_SECRET_ARN=" in user_data
    assert "MLPIPES_MLFLOW_ARTIFACTS_DESTINATION=s3://" in user_data
    assert "/mlflow/\n" in user_data  # the default artifact prefix
    assert "MLPIPES_MLFLOW_SSL_MODE=require" in user_data
    assert "amazon-cloudwatch-agent-ctl -a fetch-config" in user_data
    assert "/opt/aws/bin/cfn-signal" in user_data
    assert user_data.rstrip().endswith("exit 1")  # the health wait decides the signal


def test_tracking_uri_is_published_in_ssm(bundled_mlflow: Template) -> None:
    parameter = _only(bundled_mlflow, "AWS::SSM::Parameter")["Properties"]
    assert parameter["Name"] == "/mlpipes/mlflow/tracking-uri"
    balancer_id = next(
        iter(bundled_mlflow.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer"))
    )
    assert parameter["Value"] == {
        "Fn::Join": ["", ["http://", {"Fn::GetAtt": [balancer_id, "DNSName"]}]]
    }


def test_instance_role_is_least_privilege_without_managed_or_inline_policies(
    bundled_mlflow: Template,
) -> None:
    assert not bundled_mlflow.find_resources("AWS::IAM::Policy")  # no inline policies
    policies = bundled_mlflow.find_resources(
        "AWS::IAM::ManagedPolicy",
        {"Properties": {"Description": "Permissions of the MLflow tracking server instance"}},
    )
    (policy,) = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = [
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    ]
    assert not any(action.endswith(":*") or action == "*" for action in actions)
    assert "s3:DeleteObject" in actions
    delete = next(s for s in statements if s.get("Sid") == "DeleteArtifacts")
    assert json.dumps(delete["Resource"]).endswith('"/mlflow/*"]]}')
    instance_roles = bundled_mlflow.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": Match.object_like(
                    {
                        "Statement": [
                            Match.object_like({"Principal": {"Service": "ec2.amazonaws.com"}})
                        ]
                    }
                )
            }
        },
    )
    (instance_role,) = instance_roles.values()
    assert "ManagedPolicyArns" not in instance_role["Properties"]  # no AWS managed policy


def test_foundation_key_and_log_bucket_allow_auto_scaling_and_alb_logs(
    bundled_foundation: Template,
) -> None:
    bundled_foundation.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowAutoScalingEncryptedVolumes",
                                "Condition": {
                                    "StringEquals": {
                                        "aws:PrincipalArn": Match.string_like_regexp(
                                            "AWSServiceRoleForAutoScaling$"
                                        )
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
    policies = json.dumps(bundled_foundation.find_resources("AWS::S3::BucketPolicy"))
    assert "/mlflow-alb/AWSLogs/123456789012/*" in policies


def test_readme_forwards_a_local_port_to_the_server_on_the_instance(
    bundled_mlflow: Template,
) -> None:
    # The server's security group has no egress to the load balancer, so the forward ends at
    # the server's own port on the instance, whose Host header (localhost) the server allows.
    section = README.read_text(encoding="utf-8").split("## MLflow tracking server", 1)[1]
    section = section.split("\n## ", 1)[0]
    # The start-session command with its backslash-continued lines.
    lines = iter(section.splitlines()[1:])
    command = next(line for line in lines if line.startswith("aws ssm start-session"))
    while command.endswith("\\"):
        command = command[:-1] + next(lines)
    assert "--document-name AWS-StartPortForwardingSession " in command
    parameters = json.loads(command.split("--parameters '", 1)[1].split("'", 1)[0])
    assert parameters == {"portNumber": [str(SERVER_PORT)], "localPortNumber": ["5000"]}
    assert "MLPIPES_MLFLOW_ALLOWED_HOSTS=" in _user_data(bundled_mlflow)
    assert ",localhost:*," in _user_data(bundled_mlflow)


def test_bundled_stack_passes_the_compliance_packs_with_reasons(
    bundled_app: SynthesizedApp,
) -> None:
    assert bundled_app.findings_for("mlflow") == []
    # The one annotation is the intended plain-HTTP warning (see the next test).
    warnings = [f.rule for f in bundled_app.annotations_for("mlflow")]
    assert warnings == ["Annotation::mlpipes:mlflow-no-tls"]
    acknowledged = bundled_app.acknowledgments_for("mlflow")
    rules = {item.rule for item in acknowledged}
    assert "AwsSolutions-SMG4" in rules
    assert "NIST.800.53.R5-ALBHttpToHttpsRedirection" in rules  # only because of plain HTTP
    assert all(len(item.reason) >= 40 for item in acknowledged)


def test_plain_http_is_a_synth_warning(bundled_app: SynthesizedApp) -> None:
    (warning,) = bundled_app.annotations_for("mlflow")
    assert warning.path == "mlpipes-Mlflow/Server"
    assert "plain HTTP" in warning.description


def test_catalog_requires_the_foundation_stack() -> None:
    assert "mlflow" in [entry.key for entry in STACK_CATALOG]
    app = cdk.App(context=cdk_json_context())
    with pytest.raises(ValueError, match="'mlflow' stack builds on the 'foundation' stack"):
        build_app(app, AppConfig(stacks=("mlflow",), compliance_checks=False), env=TEST_ENV)


def test_user_data_installs_with_the_shipped_constraints_uploaded_as_an_asset(
    bundled_app: SynthesizedApp, bundled_mlflow: Template
) -> None:
    user_data = _user_data(bundled_mlflow)
    download = re.search(
        r"aws s3 cp 's3://[^/']+/([0-9a-f]{64}\.txt)' '/opt/mlflow/constraints\.txt'", user_data
    )
    assert download is not None
    install = user_data.index(f"{INSTALL}'mlflow[auth]=={DEFAULT_MLFLOW_VERSION}'")
    assert user_data.index(download.group(0)) < install  # on disk before pip reads it
    assert user_data.index("python3.11 -m venv /opt/mlflow/venv") < install
    # The asset is the shipped file, byte for byte, and the instance may read it.
    asset = bundled_app.outdir / f"asset.{download.group(1)}"
    assert asset.read_bytes() == SHIPPED_CONSTRAINTS.read_bytes()
    policy = json.dumps(bundled_mlflow.find_resources("AWS::IAM::ManagedPolicy"))
    assert f"/{download.group(1)}" in policy
    assert _bundled_server(bundled_app).requirements_file == SHIPPED_CONSTRAINTS


def test_shipped_constraints_pin_the_default_release_and_everything_it_needs() -> None:
    text = SHIPPED_CONSTRAINTS.read_text(encoding="utf-8")
    pins = _pins(text)
    assert pins["mlflow"] == DEFAULT_MLFLOW_VERSION
    assert pins["mlflow-skinny"] == DEFAULT_MLFLOW_VERSION  # mlflow pins its own parts
    assert pins["psycopg2-binary"] == PSYCOPG2_BINARY_VERSION
    assert pins["boto3"] == BOTO3_VERSION
    # Transitive packages: the auth extra's, the server's and the SDK's.
    for name in ("flask-wtf", "flask", "sqlalchemy", "alembic", "gunicorn", "botocore", "numpy"):
        assert name in pins, name
    assert "scripts/lock-mlflow-requirements.py" in text and "CPython 3.11." in text


# --- metrics and alarms ---------------------------------------------------------------

ELB_DIMENSIONS = {"LoadBalancer", "TargetGroup"}


@pytest.mark.parametrize(
    ("helper", "namespace", "metric_name", "statistic", "period", "dimensions"),
    [
        ("metric_healthy_hosts", "AWS/ApplicationELB", "HealthyHostCount", "Minimum", 60,
         ELB_DIMENSIONS),
        ("metric_unhealthy_hosts", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", 60,
         ELB_DIMENSIONS),
        ("metric_http_5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", 300,
         ELB_DIMENSIONS),
        ("metric_target_response_time", "AWS/ApplicationELB", "TargetResponseTime", "p90", 300,
         ELB_DIMENSIONS),
        ("metric_database_cpu", "AWS/RDS", "CPUUtilization", "Average", 300,
         {"DBClusterIdentifier"}),
        ("metric_database_capacity", "AWS/RDS", "ACUUtilization", "Average", 300,
         {"DBClusterIdentifier"}),
    ],
)  # fmt: skip
def test_metric_helpers_name_the_metric_and_dimensions_of_this_server(
    bundled_app: SynthesizedApp,
    bundled_mlflow: Template,
    helper: str,
    namespace: str,
    metric_name: str,
    statistic: str,
    period: int,
    dimensions: set[str],
) -> None:
    server = _bundled_server(bundled_app)
    metric = getattr(server, helper)()
    assert (metric.namespace, metric.metric_name) == (namespace, metric_name)
    assert (metric.statistic, metric.period.to_seconds()) == (statistic, period)
    resolved = cdk.Stack.of(server).resolve(metric.dimensions)
    assert set(resolved) == dimensions
    if "TargetGroup" in resolved:
        target_group = next(
            iter(bundled_mlflow.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup"))
        )
        assert resolved["TargetGroup"] == {"Fn::GetAtt": [target_group, "TargetGroupFullName"]}
        assert "ServerLoadBalancerListener" in json.dumps(resolved["LoadBalancer"])
    else:
        database = next(iter(bundled_mlflow.find_resources("AWS::RDS::DBCluster")))
        assert resolved["DBClusterIdentifier"] == {"Ref": database}


def test_metric_helpers_of_the_other_database_kind_raise_naming_the_alternative(
    bundled_app: SynthesizedApp, https_server: BuiltServer
) -> None:
    with pytest.raises(ValueError, match=r"metric_database_free_storage needs a provisioned"):
        _bundled_server(bundled_app).metric_database_free_storage()
    with pytest.raises(ValueError, match=r"metric_database_capacity needs an Aurora Serverless"):
        https_server.server.metric_database_capacity()
    storage = https_server.server.metric_database_free_storage()
    assert (storage.metric_name, storage.statistic) == ("FreeStorageSpace", "Minimum")
    resolved = https_server.stack.resolve(storage.dimensions)
    assert set(resolved) == {"DBInstanceIdentifier"}


def test_metric_helpers_take_metric_options_over_their_defaults(
    bundled_app: SynthesizedApp,
) -> None:
    server = _bundled_server(bundled_app)
    metric = server.metric_database_cpu(
        period=cdk.Duration.minutes(1), statistic="Maximum", label="MLflow database CPU"
    )
    assert (metric.statistic, metric.period.to_seconds()) == ("Maximum", 60)
    assert metric.label == "MLflow database CPU"
    only_period = server.metric_http_5xx(period=cdk.Duration.minutes(15))
    assert (only_period.statistic, only_period.period.to_seconds()) == ("Sum", 900)


def test_alarms_notify_the_encrypted_topic_into_and_out_of_alarm(
    bundled_app: SynthesizedApp, bundled_mlflow: Template
) -> None:
    alarms = bundled_mlflow.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 4
    assert len(_bundled_server(bundled_app).alarms) == 4
    topic_id, topic = next(iter(bundled_mlflow.find_resources("AWS::SNS::Topic").items()))
    assert "PlatformKey" in json.dumps(topic["Properties"]["KmsMasterKeyId"])
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["AlarmDescription"]


def test_no_healthy_host_alarm_fires_after_three_minutes_and_on_missing_data(
    bundled_mlflow: Template,
) -> None:
    properties = _alarm(bundled_mlflow, MetricName="HealthyHostCount")["Properties"]
    assert properties["Namespace"] == "AWS/ApplicationELB"
    assert (properties["Statistic"], properties["Period"]) == ("Minimum", 60)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("LessThanThreshold", 1)
    assert properties["EvaluationPeriods"] == 3
    assert properties["TreatMissingData"] == "breaching"  # no health data: no server
    # Created once the first instance has signalled success, so a deploy does not page.
    alarm = _alarm(bundled_mlflow, MetricName="HealthyHostCount")
    group = next(iter(bundled_mlflow.find_resources("AWS::AutoScaling::AutoScalingGroup")))
    assert group in alarm["DependsOn"]


def test_http_5xx_alarm_is_a_rate_of_enough_requests(bundled_mlflow: Template) -> None:
    found = bundled_mlflow.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"Metrics": Match.any_value()}}
    )
    (alarm,) = found.values()
    properties = alarm["Properties"]
    metrics = {metric["Id"]: metric for metric in properties["Metrics"]}
    (expression,) = [metric for metric in metrics.values() if "Expression" in metric]
    assert expression["Expression"] == "IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)"
    errors, requests = metrics["errors"]["MetricStat"], metrics["requests"]["MetricStat"]
    assert errors["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert requests["Metric"]["MetricName"] == "RequestCount"
    assert errors["Stat"] == requests["Stat"] == "Sum"
    assert errors["Period"] == requests["Period"] == 300
    assert (properties["ComparisonOperator"], properties["Threshold"]) == (
        "GreaterThanThreshold",
        5,
    )
    assert properties["EvaluationPeriods"] == 2
    assert properties["TreatMissingData"] == "notBreaching"  # no requests, no errors


def test_serverless_database_alarms_watch_cpu_and_capacity_for_15_minutes(
    bundled_mlflow: Template,
) -> None:
    cluster = next(iter(bundled_mlflow.find_resources("AWS::RDS::DBCluster")))
    dimensions = [{"Name": "DBClusterIdentifier", "Value": {"Ref": cluster}}]
    cpu = _alarm(bundled_mlflow, MetricName="CPUUtilization")["Properties"]
    assert cpu["Dimensions"] == dimensions
    assert cpu["Period"] * cpu["EvaluationPeriods"] == 15 * 60
    # No data while paused says nothing about load.
    assert cpu["TreatMissingData"] == "ignore"
    capacity = _alarm(bundled_mlflow, MetricName="ACUUtilization")["Properties"]
    assert capacity["Dimensions"] == dimensions
    assert (capacity["ComparisonOperator"], capacity["Threshold"]) == ("GreaterThanThreshold", 90)
    assert capacity["Period"] * capacity["EvaluationPeriods"] == 15 * 60
    assert capacity["TreatMissingData"] == "notBreaching"
    assert "(4 ACUs)" in capacity["AlarmDescription"]
    assert not bundled_mlflow.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "FreeStorageSpace"}}
    )


def test_provisioned_database_alarms_watch_cpu_for_15_minutes_and_free_storage(
    production_mlflow: Template,
) -> None:
    bundled_mlflow = production_mlflow
    database = next(iter(bundled_mlflow.find_resources("AWS::RDS::DBInstance")))
    cpu = _alarm(bundled_mlflow, MetricName="CPUUtilization")["Properties"]
    assert cpu["Namespace"] == "AWS/RDS"
    assert cpu["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": {"Ref": database}}]
    assert (cpu["ComparisonOperator"], cpu["Threshold"]) == ("GreaterThanThreshold", 80)
    assert cpu["Statistic"] == "Average"
    assert cpu["Period"] * cpu["EvaluationPeriods"] == 15 * 60
    assert cpu["TreatMissingData"] == "ignore"
    storage = _alarm(bundled_mlflow, MetricName="FreeStorageSpace")["Properties"]
    assert storage["Dimensions"] == cpu["Dimensions"]
    # 10% of the default 20 GiB allocation, in bytes.
    assert (storage["ComparisonOperator"], storage["Threshold"]) == (
        "LessThanThreshold",
        2 * 1024**3,
    )
    assert storage["Statistic"] == "Minimum"
    assert storage["TreatMissingData"] == "ignore"


def test_cloudwatch_may_publish_alarms_to_the_topic_and_use_its_key(
    bundled_mlflow: Template, bundled_foundation: Template
) -> None:
    conditions = {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"},
    }
    principal = {"Service": "cloudwatch.amazonaws.com"}
    bundled_mlflow.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": principal,
                                "Action": "sns:Publish",
                                "Condition": conditions,
                            }
                        )
                    ]
                )
            }
        },
    )
    bundled_foundation.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": principal,
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                "Condition": conditions,
                            }
                        )
                    ]
                )
            }
        },
    )


# --- HTTPS, x86 and individual resources ------------------------------------------------


def test_certificate_gives_an_https_only_listener(https_server: BuiltServer) -> None:
    template = https_server.template
    listener = _only(template, "AWS::ElasticLoadBalancingV2::Listener")["Properties"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
    assert listener["Certificates"] == [{"CertificateArn": CERTIFICATE_ARN}]
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert https_server.server.tracking_uri == "https://mlflow.example.com"
    template.has_resource_properties(
        "AWS::SSM::Parameter", {"Name": "/team/mlflow/uri", "Value": "https://mlflow.example.com"}
    )
    user_data = _user_data(template)
    assert "MLPIPES_MLFLOW_ALLOWED_ORIGINS=https://mlflow.example.com\n" in user_data
    assert "mlflow.example.com,mlflow.example.com:*," in user_data
    assert not Annotations.from_stack(https_server.stack).find_warning(
        "*", Match.string_like_regexp("mlpipes:mlflow-no-tls")
    )


def test_allowed_cidrs_and_granted_peers_replace_the_vpc_cidr(https_server: BuiltServer) -> None:
    rules = _ingress_rules(https_server.template)
    cidrs = sorted((rule["CidrIp"], rule["FromPort"]) for rule in rules if "CidrIp" in rule)
    assert cidrs == [("10.20.0.0/16", 443), ("172.16.5.0/24", 443), ("192.168.10.0/24", 443)]


def test_x86_instance_type_gets_an_x86_image_and_props_reach_the_resources(
    https_server: BuiltServer,
) -> None:
    template = https_server.template
    data = _only(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["InstanceType"] == "m7i.large"
    default = template.to_json()["Parameters"][data["ImageId"]["Ref"]]["Default"]
    assert default.endswith("x86_64")
    database = _only(template, "AWS::RDS::DBInstance")["Properties"]
    assert database["MultiAZ"] is False
    assert database["BackupRetentionPeriod"] == 14
    user_data = _user_data(template)
    assert "'mlflow[auth]==3.1.4'" in user_data
    assert "/tracking/\n" in user_data
    policy = json.dumps(template.find_resources("AWS::IAM::ManagedPolicy"))
    assert '"/tracking/*"' in policy and '"/mlflow/*"' not in policy


def test_grant_read_credentials_allows_reading_the_admin_secret(
    https_server: BuiltServer,
) -> None:
    from aws_cdk import aws_iam as iam

    stack = https_server.stack
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    grant = https_server.server.grant_read_credentials(role)
    assert grant.success
    policy = role.node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    document = json.dumps(stack.resolve(policy.document.to_json()))
    assert "secretsmanager:GetSecretValue" in document
    admin_secret_id = stack.get_logical_id(
        https_server.server.admin_secret.node.default_child  # type: ignore[arg-type]
    )
    assert admin_secret_id in document


def test_other_release_without_requirements_file_warns_that_dependencies_float(
    https_server: BuiltServer,
) -> None:
    (warning,) = Annotations.from_stack(https_server.stack).find_warning(
        "*", Match.string_like_regexp("mlpipes:mlflow-unpinned-dependencies")
    )
    message = str(warning.entry.data)
    assert "MLflow 3.1.4" in message and "'requirements_file'" in message
    assert https_server.server.requirements_file is None
    user_data = _user_data(https_server.template)
    assert "--constraint" not in user_data and "constraints.txt" not in user_data


def test_own_requirements_file_is_uploaded_and_installed_with(
    custom_server: BuiltServer,
) -> None:
    server = custom_server.server
    assert server.requirements_file is not None
    asset = server.node.find_child("Requirements")
    assert isinstance(asset, s3_assets.Asset)
    app = custom_server.stack.node.root
    assert isinstance(app, cdk.App)
    staged = Path(app.outdir) / asset.asset_path
    assert staged.read_text(encoding="utf-8") == CUSTOM_CONSTRAINTS
    user_data = _user_data(custom_server.template)
    assert "'/opt/mlflow/constraints.txt'\n" in user_data
    assert f"{INSTALL}'mlflow[auth]==3.1.4'" in user_data
    assert not Annotations.from_stack(custom_server.stack).find_warning(
        "*", Match.string_like_regexp("mlpipes:mlflow-unpinned-dependencies")
    )


def test_alarms_can_be_left_out(custom_server: BuiltServer) -> None:
    custom_server.template.resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert custom_server.server.alarms == ()
    assert "cloudwatch.amazonaws.com" not in json.dumps(custom_server.template.to_json())
    # The imported key's warning asks only for what the server still needs.
    (message,) = [m for m in _warnings(custom_server.server) if "mlflow-key-policy" in m]
    assert "AWSServiceRoleForAutoScaling" in message
    assert "cloudwatch" not in message


# --- bad props ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scaffold() -> dict[str, Any]:
    """Resources for constructs that fail validation (nothing here is synthesized)."""
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Scaffold", env=TEST_ENV)
    key = kms.Key(stack, "Key")
    return {
        "stack": stack,
        "vpc": ec2.Vpc(stack, "Vpc", max_azs=2),
        "encryption_key": key,
        "artifact_bucket": s3.Bucket(stack, "Artifacts"),
        "access_log_bucket": s3.Bucket(stack, "Logs"),
        "count": [0],
    }


def _build(scaffold: dict[str, Any], **props: Any) -> MlflowServer:
    scaffold["count"][0] += 1
    number = scaffold["count"][0]
    resources: dict[str, Any] = {
        name: scaffold[name]
        for name in ("vpc", "encryption_key", "artifact_bucket", "access_log_bucket")
    }
    # Servers of one app need their own parameter names (see the duplicate-name test).
    resources["tracking_uri_parameter_name"] = f"/test/mlflow/{number}/tracking-uri"
    resources.update(props)
    return MlflowServer(scaffold["stack"], f"Bad{number}", **resources)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"instance_type": "m5.huge"}, r"instance_type 'm5\.huge' is not an EC2 instance type"),
        ({"instance_type": "ml.m5.xlarge"}, r"SageMaker 'ml\.' types do not run EC2 instances"),
        (
            {"instance_type": "m7i.large", "cpu_architecture": ec2.AmazonLinuxCpuType.ARM_64},
            r"instance_type 'm7i\.large' is an x86_64 type but the machine image is arm64",
        ),
        (
            {"instance_type": "c7g.xlarge", "cpu_architecture": ec2.AmazonLinuxCpuType.X86_64},
            r"instance_type 'c7g\.xlarge' is a Graviton \(arm64\) type but the machine image is "
            r"x86_64",
        ),
        (
            {"database_instance_type": "db.huge", "sizing": MlflowSizing.PRODUCTION},
            r"database_instance_type 'huge' is not an EC2",
        ),
        (
            {"database_instance_type": "db.r7g.large"},
            r"'sizing' and 'database_instance_type' cannot be used together: the sizing's "
            r"database is Aurora Serverless v2",
        ),
        (
            {"database_allocated_storage": 50},
            r"'sizing' and 'database_allocated_storage' cannot be used together",
        ),
        (
            {
                "sizing": MlflowSizing(
                    instance_type="t4g.medium",
                    workers=2,
                    database=ServerlessDatabase(min_capacity=0.25, max_capacity=300),
                )
            },
            r"sizing\.database\.min_capacity 0\.25 must be from 0 to 256 ACUs in steps of 0\.5",
        ),
        (
            {
                "sizing": MlflowSizing(
                    instance_type="t4g.medium",
                    workers=2,
                    database=ServerlessDatabase(max_capacity=300),
                )
            },
            r"sizing\.database\.max_capacity 300 must be from 0 to 256 ACUs",
        ),
        (
            {
                "sizing": MlflowSizing(
                    instance_type="t4g.medium",
                    workers=2,
                    database=ServerlessDatabase(min_capacity=2, max_capacity=1),
                )
            },
            r"sizing\.database\.max_capacity 1 must be at least 1 ACU and at least "
            r"min_capacity \(2\)",
        ),
        (
            {
                "sizing": MlflowSizing(
                    instance_type="t4g.medium",
                    workers=2,
                    database=ServerlessDatabase(auto_pause_seconds=60),
                )
            },
            r"sizing\.database\.auto_pause_seconds 60 must be from 300 \(5 minutes\) to 86400",
        ),
        (
            {
                "sizing": MlflowSizing(
                    instance_type="t4g.medium", workers=0, database=ServerlessDatabase()
                )
            },
            r"workers 0 must be a whole number from 1 to 64",
        ),
        ({"mlflow_version": ">=3.1"}, r"mlflow_version '>=3\.1' must be a plain release version"),
        ({"mlflow_version": "3.1.4rc1"}, r"mlflow_version '3\.1\.4rc1' must be a plain release"),
        ({"mlflow_version": "2.4.0"}, r"mlflow_version '2\.4\.0' is older than 2\.5\.0"),
        (
            {"allowed_cidrs": ["0.0.0.0/0"]},
            r"allowed_cidrs entry '0\.0\.0\.0/0' opens the tracking server to every address",
        ),
        ({"allowed_cidrs": ["::/0"]}, r"allowed_cidrs entry '::/0' opens the tracking server"),
        ({"allowed_cidrs": ["10.0.0.1/16"]}, r"allowed_cidrs entry '10\.0\.0\.1/16' is not a CIDR"),
        ({"allowed_cidrs": "10.0.0.0/16"}, r"allowed_cidrs must be a list of CIDR blocks"),
        (
            {"certificate": "arn:aws:acm:us-east-1:123456789012:cert/abc"},
            r"certificate 'arn:aws:acm:us-east-1:123456789012:cert/abc' is not an ACM certificate "
            r"ARN; expected 'arn:aws:acm:<region>:<account>:certificate/<id>'",
        ),
        (
            {"certificate": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b-2c3d"},
            r"certificate '.*' is in region 'eu-west-1' but the stack is in 'us-east-1'",
        ),
        ({"artifact_prefix": "/mlflow"}, r"artifact_prefix '/mlflow' must be a folder"),
        ({"tracking_uri_parameter_name": "mlflow-uri"}, r"tracking_uri_parameter_name"),
        ({"domain_name": "MLflow.Example.com"}, r"domain_name 'MLflow\.Example\.com' must be"),
        ({"default_permission": "WRITE"}, r"default_permission 'WRITE' must be READ, EDIT"),
        ({"workers": 0}, r"workers 0 must be a whole number from 1 to 64"),
        ({"backup_retention": cdk.Duration.days(0)}, r"backup_retention 0 days must be from 1"),
        ({"admin_username": "admin user"}, r"admin_username 'admin user' must be"),
    ],
)
def test_bad_props_name_the_prop_value_and_rule(
    scaffold: dict[str, Any], props: dict[str, Any], message: str
) -> None:
    with pytest.raises(PropsValidationError, match=message):
        _build(scaffold, **props)


def test_all_problems_are_reported_at_once(scaffold: dict[str, Any]) -> None:
    with pytest.raises(PropsValidationError) as raised:
        _build(scaffold, instance_type="m5.huge", mlflow_version="latest", workers=100)
    assert len(raised.value.problems) == 3


def test_foundation_conflicts_with_individual_resources(scaffold: dict[str, Any]) -> None:
    foundation = FoundationResources(
        vpc=scaffold["vpc"],
        private_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        encryption_key=scaffold["encryption_key"],
        artifact_bucket=scaffold["artifact_bucket"],
        log_bucket=scaffold["access_log_bucket"],
    )
    with pytest.raises(
        PropsValidationError, match=r"'foundation' and 'vpc' cannot be used together"
    ) as raised:
        _build(scaffold, foundation=foundation)  # _build also passes the four resources
    assert len(raised.value.problems) == 4
    assert any("'foundation' and 'artifact_bucket'" in p for p in raised.value.problems)


def test_missing_resources_and_log_bucket_are_reported(scaffold: dict[str, Any]) -> None:
    with pytest.raises(PropsValidationError, match=r"access_log_bucket is required"):
        MlflowServer(scaffold["stack"], "NoLogs", vpc=scaffold["vpc"],
                     encryption_key=scaffold["encryption_key"],
                     artifact_bucket=scaffold["artifact_bucket"])  # fmt: skip
    foundation = FoundationResources(
        vpc=scaffold["vpc"],
        private_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        encryption_key=scaffold["encryption_key"],
        artifact_bucket=scaffold["artifact_bucket"],
    )
    with pytest.raises(PropsValidationError, match=r"foundation has no log_bucket"):
        MlflowServer(scaffold["stack"], "NoFoundationLogs", foundation=foundation)


@pytest.fixture(scope="module")
def natless_vpcs(scaffold: dict[str, Any]) -> dict[str, ec2.Vpc]:
    """VPCs whose private subnets cannot reach the internet (nothing here is synthesized)."""
    stack = scaffold["stack"]
    return {
        # A NAT gateway for the private group, and an isolated group beside it.
        "mixed": ec2.Vpc(
            stack,
            "MixedVpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ),
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                ),
            ],
        ),
        # "With egress" in name only: no NAT gateway, so no default route.
        "no-route": ec2.Vpc(
            stack,
            "NoRouteVpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                )
            ],
        ),
        "isolated-only": ec2.Vpc(stack, "IsolatedVpc", max_azs=2, nat_gateways=0),
    }


NEEDS_NAT = (
    r"MLflow needs egress through a NAT gateway to install its pinned packages from PyPI and "
    r"reach the AWS APIs"
)


@pytest.mark.parametrize(
    ("vpc", "selection", "message"),
    [
        (
            "mixed",
            ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            r"vpc_subnets selects PRIVATE_ISOLATED subnets, which have no route to a NAT",
        ),
        (
            "mixed",
            ec2.SubnetSelection(subnet_group_name="isolated"),
            r"vpc_subnets selects subnets without a route to a NAT \(Scaffold/MixedVpc/isolated",
        ),
        (
            "no-route",
            None,
            r"vpc_subnets selects subnets without a route to a NAT \(Scaffold/NoRouteVpc/private",
        ),
        ("isolated-only", None, r"vpc_subnets selects no subnets of the VPC \(.*'Private'"),
    ],
)
def test_subnets_without_nat_egress_are_rejected(
    scaffold: dict[str, Any],
    natless_vpcs: dict[str, ec2.Vpc],
    vpc: str,
    selection: ec2.SubnetSelection | None,
    message: str,
) -> None:
    with pytest.raises(PropsValidationError, match=message) as raised:
        _build(scaffold, vpc=natless_vpcs[vpc], vpc_subnets=selection)
    assert re.search(NEEDS_NAT, str(raised.value))


def test_subnets_with_nat_egress_are_accepted(
    scaffold: dict[str, Any], natless_vpcs: dict[str, ec2.Vpc]
) -> None:
    server = _build(
        scaffold,
        vpc=natless_vpcs["mixed"],
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="private"),
    )
    assert server.vpc is natless_vpcs["mixed"]


def test_natless_foundation_is_rejected_naming_its_private_subnets() -> None:
    app = cdk.App(context=cdk_json_context())
    foundation = FoundationStack(app, "Natless-Foundation", env=TEST_ENV, nat_gateways=0)
    with pytest.raises(
        PropsValidationError,
        match=r"foundation\.private_subnets selects PRIVATE_ISOLATED subnets, which have no "
        r"route to a NAT: " + NEEDS_NAT,
    ):
        MlflowStack(app, "Natless-Mlflow", env=TEST_ENV, foundation=foundation.resources)


def test_database_storage_grows_at_most_to_the_rds_limit(scaffold: dict[str, Any]) -> None:
    def max_storage(allocated: int) -> Any:
        server = _build(
            scaffold,
            sizing=MlflowSizing.PRODUCTION,
            database_allocated_storage=allocated,
            alarms=False,
        )
        database = server.database.node.default_child
        assert isinstance(database, rds.CfnDBInstance)
        return database.max_allocated_storage

    assert max_storage(1000) == 5000
    assert max_storage(16384) == 65536  # 5 times would be 81920, past the 64 TiB of gp3
    with pytest.raises(PropsValidationError, match=r"database_allocated_storage 16385 must be"):
        _build(scaffold, sizing=MlflowSizing.PRODUCTION, database_allocated_storage=16385)


def test_two_servers_cannot_share_a_tracking_uri_parameter(scaffold: dict[str, Any]) -> None:
    first = _build(scaffold, tracking_uri_parameter_name="/team/shared/tracking-uri")
    with pytest.raises(PropsValidationError) as raised:
        _build(scaffold, tracking_uri_parameter_name="/team/shared/tracking-uri")
    (problem,) = raised.value.problems
    second = f"Scaffold/Bad{scaffold['count'][0]}"
    assert problem == (
        "tracking_uri_parameter_name '/team/shared/tracking-uri' is already used by the MLflow "
        f"server '{first.node.path}' in the same account and region; give '{second}' another "
        "tracking_uri_parameter_name"
    )


def test_servers_in_other_regions_may_share_the_default_parameter() -> None:
    app = cdk.App(context=cdk_json_context())
    foundations, servers = {}, []
    for region in ("us-east-1", "eu-west-1"):
        env = cdk.Environment(account=TEST_ENV.account, region=region)
        foundations[region] = FoundationStack(app, f"Foundation-{region}", env=env).resources
        stack = MlflowStack(app, f"Mlflow-{region}", env=env, foundation=foundations[region])
        servers.append(stack.server)
    assert [s.tracking_uri_parameter_name for s in servers] == [DEFAULT_PARAMETER_NAME] * 2
    env = cdk.Environment(account=TEST_ENV.account, region="eu-west-1")
    with pytest.raises(PropsValidationError, match=r"already used by the MLflow server "
                       r"'Mlflow-eu-west-1/Server'"):  # fmt: skip
        MlflowStack(app, "Mlflow-again", env=env, foundation=foundations["eu-west-1"])


def test_grant_access_rejects_the_whole_internet(https_server: BuiltServer) -> None:
    with pytest.raises(PropsValidationError, match=r"'0\.0\.0\.0/0' opens the tracking server"):
        https_server.server.grant_access(ec2.Peer.any_ipv4())


def test_imported_key_warns_that_alarms_need_its_policy_too(scaffold: dict[str, Any]) -> None:
    key = kms.Key.from_key_arn(
        scaffold["stack"], "ImportedKey", "arn:aws:kms:us-east-1:123456789012:key/1234-abcd"
    )
    server = _build(scaffold, encryption_key=key)
    (message,) = [m for m in _warnings(server) if "mlpipes:mlflow-key-policy" in m]
    assert "AWSServiceRoleForAutoScaling" in message
    assert "cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey" in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"requirements_file '.*constraints\.txt' is not a file"),
        ("-r base.txt\n", r"line 1 '-r base\.txt' includes another file"),
        ("# lock\n--constraint=base.txt\n", r"line 2 '--constraint=base\.txt' includes another"),
        ("mlflow[auth]==3.1.4\n", r"line 1 'mlflow\[auth\]==3\.1\.4' has extras.*"
         r"'mlflow==3\.1\.4'"),
        ("MLflow==3.1.3  # older\n", r"pins MLflow==3\.1\.3 but the server installs "
         r"mlflow\[auth\]"),
        ("boto3==1.40.0 ; python_version >= '3.11'\n", r"pins boto3==1\.40\.0 but the server "
         r"installs boto3==1\.44\.8"),
        ("psycopg2_binary==2.9.9\n", r"pins psycopg2_binary==2\.9\.9 but the server installs "
         r"psycopg2-binary==2\.9\.13"),
    ],
)  # fmt: skip
def test_bad_requirements_file_names_the_file_line_and_rule(
    scaffold: dict[str, Any], tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "constraints.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PropsValidationError, match=message):
        _build(scaffold, mlflow_version="3.1.4", requirements_file=path)


def test_requirements_file_accepts_comments_markers_and_hashes(
    scaffold: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "constraints.txt"
    path.write_text(
        "# locked\n\nmlflow==3.1.4 --hash=sha256:00ff\n"
        "colorama==0.4.6 ; sys_platform == 'win32'\nboto3==1.44.8  # the SDK\n",
        encoding="utf-8",
    )
    server = _build(scaffold, mlflow_version="3.1.4", requirements_file=str(path))
    assert server.requirements_file == path.resolve()
    assert not [m for m in _warnings(server) if "unpinned-dependencies" in m]


def test_user_data_is_valid_bash_and_its_agent_config_valid_json(
    bundled_mlflow: Template, tmp_path: Path
) -> None:
    launch_template = _only(bundled_mlflow, "AWS::EC2::LaunchTemplate")
    parts = launch_template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    # CloudFormation replaces each reference with a plain value such as an ARN or a name.
    script = "".join(
        part if isinstance(part, str) else "resolved-value" for part in parts["Fn::Join"][1]
    )
    path = tmp_path / "user-data.sh"
    path.write_text(script, encoding="utf-8")
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    agent_config = script.split(f"cat > {AGENT_CONFIG} <<'MLPIPES_EOF'\n", 1)[1]
    agent_config = agent_config.split("MLPIPES_EOF", 1)[0]
    collected = json.loads(agent_config)["logs"]["logs_collected"]["files"]["collect_list"]
    assert {entry["file_path"] for entry in collected} >= {LOG_FILE}


# --- sizing: the serverless default and the provisioned profile ----------------------------


def test_serverless_database_is_encrypted_protected_backed_up_and_snapshotted(
    bundled_mlflow: Template,
) -> None:
    cluster = _only(bundled_mlflow, "AWS::RDS::DBCluster")
    properties = cluster["Properties"]
    assert cluster["DeletionPolicy"] == "Snapshot"
    assert cluster["UpdateReplacePolicy"] == "Snapshot"
    assert properties["Engine"] == "aurora-postgresql"
    major, minor = (int(part) for part in properties["EngineVersion"].split("."))
    assert (major, minor) >= AURORA_AUTO_PAUSE_MIN_VERSION  # minimum capacity 0 needs 16.3+
    # Pauses after 5 minutes without connections, scales up to 4 ACUs under load.
    assert properties["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0,
        "MaxCapacity": 4,
        "SecondsUntilAutoPause": 300,
    }
    assert properties["StorageType"] == "aurora"  # Standard: I/O billed as used
    assert properties["StorageEncrypted"] is True
    assert "PlatformKey" in json.dumps(properties["KmsKeyId"])
    assert properties["DeletionProtection"] is True
    assert properties["BackupRetentionPeriod"] == 7
    assert properties["CopyTagsToSnapshot"] is True
    assert properties["EnableCloudwatchLogsExports"] == ["postgresql"]
    assert properties["Port"] == 5433
    assert properties["DatabaseName"] == "mlflow"
    assert "{{resolve:secretsmanager:" in json.dumps(properties["MasterUserPassword"])
    bundled_mlflow.has_resource_properties(
        "AWS::RDS::DBClusterParameterGroup",
        {
            "Family": "aurora-postgresql16",
            "Parameters": {"rds.force_ssl": "1", "log_connections": "1", "log_disconnections": "1"},
        },
    )
    # One serverless writer, private, kept at the current minor, monitored.
    writer = _only(bundled_mlflow, "AWS::RDS::DBInstance")["Properties"]
    assert writer["DBInstanceClass"] == "db.serverless"
    cluster_id = next(iter(bundled_mlflow.find_resources("AWS::RDS::DBCluster")))
    assert writer["DBClusterIdentifier"] == {"Ref": cluster_id}
    assert writer["PubliclyAccessible"] is False
    assert writer["AutoMinorVersionUpgrade"] is True
    assert writer["MonitoringInterval"] == 60
    assert writer["EnablePerformanceInsights"] is True
    # The subnet group spans the foundation's two private subnets: Aurora keeps six copies
    # of the data across three zones whatever the instance count.
    subnets = _only(bundled_mlflow, "AWS::RDS::DBSubnetGroup")["Properties"]["SubnetIds"]
    assert len(subnets) == 2


def test_serverless_database_log_group_exists_encrypted_before_the_cluster(
    bundled_mlflow: Template,
) -> None:
    cluster = _only(bundled_mlflow, "AWS::RDS::DBCluster")
    identifier = cluster["Properties"]["DBClusterIdentifier"]
    logical_id = _logical_id(
        bundled_mlflow,
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/rds/cluster/{identifier}/postgresql"},
    )
    assert logical_id in cluster["DependsOn"]
    group = bundled_mlflow.find_resources("AWS::Logs::LogGroup")[logical_id]
    assert "KmsKeyId" in group["Properties"]


def test_server_closes_idle_connections_only_when_its_database_pauses(
    bundled_mlflow: Template, https_server: BuiltServer
) -> None:
    serverless = _user_data(bundled_mlflow)
    for name, value in AUTO_PAUSE_SERVER_ENVIRONMENT.items():
        assert f"{name}={value}\n" in serverless
    assert "MLPIPES_MLFLOW_WORKERS=2\n" in serverless  # SMALL_TEAM
    provisioned = _user_data(https_server.template)
    assert not any(name in provisioned for name in AUTO_PAUSE_SERVER_ENVIRONMENT)
    assert "MLPIPES_MLFLOW_WORKERS=4\n" in provisioned  # PRODUCTION


def test_auto_pause_environment_names_settings_the_installed_mlflow_reads() -> None:
    """The variables are MLflow's own: a rename upstream would silently keep the database
    awake."""
    from mlflow import environment_variables

    assert environment_variables.MLFLOW_SQLALCHEMYSTORE_POOLCLASS.name in (
        AUTO_PAUSE_SERVER_ENVIRONMENT
    )
    assert environment_variables.MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS.name in (
        AUTO_PAUSE_SERVER_ENVIRONMENT
    )


def test_sizing_profiles_keep_their_documented_values() -> None:
    small, production = MlflowSizing.SMALL_TEAM, MlflowSizing.PRODUCTION
    assert (small.instance_type, small.workers, small.serverless) == ("t4g.medium", 2, True)
    assert small.database == ServerlessDatabase(
        min_capacity=0, max_capacity=4, auto_pause_seconds=300
    )
    assert (production.instance_type, production.workers, production.serverless) == (
        "m7g.large",
        4,
        False,
    )
    assert MlflowServer.__init__.__kwdefaults__["sizing"] is MlflowSizing.SMALL_TEAM
    assert MlflowStack.__init__.__kwdefaults__["sizing"] is MlflowSizing.SMALL_TEAM


def test_multi_az_adds_a_serverless_reader_that_pauses_with_the_writer(
    scaffold: dict[str, Any],
) -> None:
    server = _build(scaffold, multi_az=True, alarms=False)
    reader = server.database.node.find_child("Reader").node.default_child
    writer = server.database.node.find_child("Writer").node.default_child
    assert isinstance(reader, rds.CfnDBInstance) and isinstance(writer, rds.CfnDBInstance)
    assert reader.db_instance_class == "db.serverless"
    # Failover tiers 0 and 1 pause and resume together with the writer.
    assert (writer.promotion_tier, reader.promotion_tier) == (0, 1)
    single = _build(scaffold, alarms=False)
    assert single.database.node.try_find_child("Reader") is None
    assert isinstance(single.database, rds.DatabaseCluster)


def test_individual_props_override_the_provisioned_sizing(scaffold: dict[str, Any]) -> None:
    server = _build(
        scaffold,
        sizing=MlflowSizing.PRODUCTION,
        instance_type="m7g.xlarge",
        database_instance_type="db.r7g.large",
        multi_az=False,
        alarms=False,
    )
    assert server.sizing.instance_type == "m7g.xlarge"
    database = server.database.node.default_child
    assert isinstance(database, rds.CfnDBInstance)
    resolved = cdk.Stack.of(server).resolve(database.db_instance_class)
    assert (resolved, database.multi_az) == ("db.r7g.large", False)
