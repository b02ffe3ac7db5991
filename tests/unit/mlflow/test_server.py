"""MlflowServer and MlflowStack: synthesized resources, compliance and bad props."""

from __future__ import annotations

import json
import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from mlpipes_constructs._internal.validation import PropsValidationError
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.mlflow import DEFAULT_MLFLOW_VERSION, MlflowServer
from stacks import STACK_CATALOG, AppConfig, build_app
from stacks.config import cdk_json_context
from tests.conftest import TEST_ENV, SynthesizedApp
from tests.unit.mlflow.conftest import CERTIFICATE_ARN, BuiltServer

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


# --- the bundled stack (default props) ------------------------------------------------


def test_auto_scaling_group_keeps_exactly_one_instance_replaced_on_elb_health(
    bundled_mlflow: Template,
) -> None:
    group = _only(bundled_mlflow, "AWS::AutoScaling::AutoScalingGroup")
    properties = group["Properties"]
    assert properties["MinSize"] == "1" and properties["MaxSize"] == "1"
    assert "DesiredCapacity" not in properties  # a deploy never resets a replaced instance
    assert properties["HealthCheckType"] == "ELB"
    assert properties["NotificationConfigurations"][0]["NotificationTypes"]
    assert group["CreationPolicy"]["ResourceSignal"] == {"Count": 1, "Timeout": "PT20M"}
    assert group["UpdatePolicy"]["AutoScalingRollingUpdate"]["WaitOnResourceSignals"] is True


def test_launch_template_requires_imdsv2_encrypts_the_volume_and_has_no_ssh_key(
    bundled_mlflow: Template,
) -> None:
    data = _only(bundled_mlflow, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["InstanceType"] == "m7g.large"
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


def test_database_is_encrypted_protected_backed_up_and_snapshotted(
    bundled_mlflow: Template,
) -> None:
    database = _only(bundled_mlflow, "AWS::RDS::DBInstance")
    properties = database["Properties"]
    assert database["DeletionPolicy"] == "Snapshot"
    assert database["UpdateReplacePolicy"] == "Snapshot"
    assert properties["Engine"] == "postgres" and properties["EngineVersion"].startswith("16.")
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
        "AWS::RDS::DBParameterGroup", {"Parameters": Match.object_like({"rds.force_ssl": "1"})}
    )


def test_database_log_groups_are_created_encrypted_before_the_database(
    bundled_mlflow: Template,
) -> None:
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
    resources = {
        name: scaffold[name]
        for name in ("vpc", "encryption_key", "artifact_bucket", "access_log_bucket")
    }
    resources.update(props)
    return MlflowServer(scaffold["stack"], f"Bad{scaffold['count'][0]}", **resources)


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
        ({"database_instance_type": "db.huge"}, r"database_instance_type 'huge' is not an EC2"),
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


def test_grant_access_rejects_the_whole_internet(https_server: BuiltServer) -> None:
    with pytest.raises(PropsValidationError, match=r"'0\.0\.0\.0/0' opens the tracking server"):
        https_server.server.grant_access(ec2.Peer.any_ipv4())
