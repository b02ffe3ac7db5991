"""CloudFormation templates of the app resolved into the concrete values a deployment has.

Every intrinsic function the stacks use is evaluated: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``, ``Fn::GetAZs``, ``Fn::If`` with
the template's conditions, pseudo parameters, and references between the stacks of the app
(``Fn::ImportValue`` of an export, ``Fn::GetStackOutput`` of an output). Resources get
deterministic physical names derived from their stack and logical id, the way CloudFormation
would name them, so an ARN built in one stack equals the one another stack imports.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
AVAILABILITY_ZONES: tuple[str, ...] = tuple(f"{REGION}{zone}" for zone in "abcdef")

#: Value of a template parameter with no usable default (SSM-backed AMI ids, for example).
PARAMETER_STAND_IN = "ami-0123456789abcdef0"
_NO_VALUE = object()


class ResolutionError(ValueError):
    """A template uses something the resolver cannot evaluate."""


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _physical_name(stack_name: str, logical_id: str, limit: int = 63) -> str:
    """``<stack>-<logical id>-<suffix>`` as CloudFormation generates names, lower-cased."""
    suffix = _digest(stack_name, logical_id, length=12)
    return f"{stack_name}-{logical_id}"[: limit - 13].lower() + "-" + suffix


def _arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


@dataclass
class Stack:
    """One synthesized stack: its name and template."""

    name: str
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources

    @property
    def stack_id(self) -> str:
        return _arn(
            "cloudformation", f"stack/{self.name}/{_digest(self.name, length=8)}-0000-0000-0000"
        )


@dataclass
class ResolvedApp:
    """The stacks of one app, with every intrinsic function resolvable across them."""

    stacks: dict[str, Stack]
    _outputs: dict[tuple[str, str], Any] = field(default_factory=dict)
    _exports: dict[str, tuple[str, Any]] = field(default_factory=dict)
    _resolving: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for stack in self.stacks.values():
            for name, output in stack.template.get("Outputs", {}).items():
                export = output.get("Export", {}).get("Name")
                if export is not None:
                    self._exports[str(self.resolve(stack.name, export))] = (
                        stack.name,
                        output["Value"],
                    )
                self._outputs[(stack.name, name)] = output["Value"]

    # -- public API -------------------------------------------------------------------------

    def resolve(self, stack_name: str, node: Any) -> Any:
        """``node`` of ``stack_name``'s template with every intrinsic function evaluated."""
        value = self._resolve(self.stacks[stack_name], node)
        return None if value is _NO_VALUE else value

    def properties(self, stack_name: str, logical_id: str) -> dict[str, Any]:
        """The resolved ``Properties`` of a resource."""
        resource = self.stacks[stack_name].resources[logical_id]
        resolved: dict[str, Any] = self.resolve(stack_name, resource.get("Properties", {}))
        return resolved

    def ref(self, stack_name: str, logical_id: str) -> str:
        return str(self.resolve(stack_name, {"Ref": logical_id}))

    def get_att(self, stack_name: str, logical_id: str, attribute: str) -> Any:
        return self.resolve(stack_name, {"Fn::GetAtt": [logical_id, attribute]})

    # -- evaluation ---------------------------------------------------------------------------

    def _resolve(self, stack: Stack, node: Any) -> Any:
        if isinstance(node, list):
            items = [self._resolve(stack, item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, stack, argument)
            if key.startswith("Fn::"):
                raise ResolutionError(f"{stack.name}: unsupported intrinsic function {key}")
        resolved = {key: self._resolve(stack, value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def _ref(self, stack: Stack, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack.name,
            "AWS::StackId": stack.stack_id,
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        parameters = stack.template.get("Parameters", {})
        if name in parameters:
            parameter = parameters[name]
            if parameter.get("Type", "").startswith("AWS::SSM::Parameter::Value"):
                return PARAMETER_STAND_IN
            return parameter.get("Default", PARAMETER_STAND_IN)
        resource = stack.resources.get(name)
        if resource is None:
            raise ResolutionError(f"{stack.name}: Ref to unknown '{name}'")
        return self._guarded(stack, name, "Ref", lambda: _physical_ref(self, stack, name, resource))

    def _get_att(self, stack: Stack, argument: Any) -> Any:
        logical_id, attribute = (
            argument.split(".", 1) if isinstance(argument, str) else tuple(argument)
        )
        attribute = self._resolve(stack, attribute)
        resource = stack.resources.get(logical_id)
        if resource is None:
            raise ResolutionError(f"{stack.name}: Fn::GetAtt of unknown '{logical_id}'")
        return self._guarded(
            stack,
            logical_id,
            attribute,
            lambda: _attribute(self, stack, logical_id, resource, attribute),
        )

    def _guarded(self, stack: Stack, logical_id: str, what: str, compute: Any) -> Any:
        key = (stack.name, f"{logical_id}.{what}")
        if key in self._resolving:
            raise ResolutionError(f"{stack.name}: circular reference through {logical_id}")
        self._resolving.add(key)
        try:
            return compute()
        finally:
            self._resolving.discard(key)

    def _stack_output(self, stack: Stack, argument: Mapping[str, Any]) -> Any:
        stack_name = str(self._resolve(stack, argument["StackName"]))
        output = str(self._resolve(stack, argument["OutputName"]))
        if (stack_name, output) not in self._outputs:
            raise ResolutionError(f"{stack.name}: no output {output} in stack {stack_name}")
        return self._resolve(self.stacks[stack_name], self._outputs[(stack_name, output)])

    def _import(self, stack: Stack, argument: Any) -> Any:
        name = str(self._resolve(stack, argument))
        if name not in self._exports:
            raise ResolutionError(f"{stack.name}: no stack of the app exports '{name}'")
        exporting_stack, value = self._exports[name]
        return self._resolve(self.stacks[exporting_stack], value)

    def _condition(self, stack: Stack, name: str) -> bool:
        condition = stack.template.get("Conditions", {}).get(name)
        if condition is None:
            raise ResolutionError(f"{stack.name}: unknown condition '{name}'")
        return bool(self._resolve(stack, condition))


def _join(app: ResolvedApp, stack: Stack, argument: Any) -> str:
    delimiter, items = argument
    values = app._resolve(stack, items)
    return str(delimiter).join(_text(value) for value in values)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise ResolutionError(f"cannot join the non-scalar value {value!r}")


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _sub(app: ResolvedApp, stack: Stack, argument: Any) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {name: app._resolve(stack, value) for name, value in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return _text(values[name])
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return _text(app._get_att(stack, [logical_id, attribute]))
        return _text(app._ref(stack, name))

    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _select(app: ResolvedApp, stack: Stack, argument: Any) -> Any:
    index, items = argument
    values = app._resolve(stack, items)
    return values[int(app._resolve(stack, index))]


def _split(app: ResolvedApp, stack: Stack, argument: Any) -> list[str]:
    delimiter, source = argument
    return str(app._resolve(stack, source)).split(str(delimiter))


def _find_in_map(app: ResolvedApp, stack: Stack, argument: Any) -> Any:
    name, first, second = (app._resolve(stack, part) for part in argument)
    return stack.template["Mappings"][name][first][second]


def _if(app: ResolvedApp, stack: Stack, argument: Any) -> Any:
    condition, when_true, when_false = argument
    return app._resolve(stack, when_true if app._condition(stack, condition) else when_false)


def _equals(app: ResolvedApp, stack: Stack, argument: Any) -> bool:
    left, right = app._resolve(stack, argument)
    return bool(left == right)


def _base64(app: ResolvedApp, stack: Stack, argument: Any) -> Any:
    # User data stays readable: the simulation reads it, nothing decodes it.
    return app._resolve(stack, argument)


_FUNCTIONS: dict[str, Any] = {
    "Ref": lambda app, stack, argument: app._ref(stack, argument),
    "Fn::GetAtt": lambda app, stack, argument: app._get_att(stack, argument),
    "Fn::Join": _join,
    "Fn::Sub": _sub,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": lambda app, stack, argument: list(AVAILABILITY_ZONES),
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda app, stack, argument: not app._resolve(stack, argument)[0],
    "Fn::And": lambda app, stack, argument: all(app._resolve(stack, argument)),
    "Fn::Or": lambda app, stack, argument: any(app._resolve(stack, argument)),
    "Condition": lambda app, stack, argument: app._condition(stack, argument),
    "Fn::Contains": lambda app, stack, argument: (
        app._resolve(stack, argument[1]) in app._resolve(stack, argument[0])
    ),
    "Fn::Base64": _base64,
    "Fn::ImportValue": lambda app, stack, argument: app._import(stack, argument),
    "Fn::GetStackOutput": lambda app, stack, argument: app._stack_output(stack, argument),
}


# -- physical names and attributes -------------------------------------------------------------


def _name_property(
    app: ResolvedApp, stack: Stack, resource: Mapping[str, Any], prop: str, logical_id: str
) -> str:
    """The resource's own name property when set, else a generated physical name."""
    value = resource.get("Properties", {}).get(prop)
    if value is not None:
        return str(app._resolve(stack, value))
    return _physical_name(stack.name, logical_id)


def _ec2_id(prefix: str, stack: Stack, logical_id: str) -> str:
    return f"{prefix}-{_digest(stack.name, logical_id)}"


_EC2_ID_PREFIXES: dict[str, str] = {
    "AWS::EC2::VPC": "vpc",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::SecurityGroup": "sg",
    "AWS::EC2::RouteTable": "rtb",
    "AWS::EC2::InternetGateway": "igw",
    "AWS::EC2::NatGateway": "nat",
    "AWS::EC2::EIP": "eipalloc",
    "AWS::EC2::VPCEndpoint": "vpce",
    "AWS::EC2::LaunchTemplate": "lt",
    "AWS::EC2::FlowLog": "fl",
}

#: Resource type -> (name property, how Ref renders the name, how the Arn attribute renders).
_NAMED: dict[str, tuple[str, str, str]] = {
    "AWS::S3::Bucket": ("BucketName", "{name}", "arn:aws:s3:::{name}"),
    "AWS::IAM::Role": ("RoleName", "{name}", "arn:aws:iam::123456789012:role{path}{name}"),
    "AWS::IAM::ManagedPolicy": (
        "ManagedPolicyName",
        "arn:aws:iam::123456789012:policy{path}{name}",
        "arn:aws:iam::123456789012:policy{path}{name}",
    ),
    "AWS::IAM::InstanceProfile": (
        "InstanceProfileName",
        "{name}",
        "arn:aws:iam::123456789012:instance-profile{path}{name}",
    ),
    "AWS::SNS::Topic": ("TopicName", _arn("sns", "{name}"), _arn("sns", "{name}")),
    # Ref is the queue URL; QueueName and Arn are modelled below and here.
    "AWS::SQS::Queue": (
        "QueueName",
        "https://sqs.us-east-1.amazonaws.com/123456789012/{name}",
        _arn("sqs", "{name}"),
    ),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        _arn("states", "stateMachine:{name}"),
        _arn("states", "stateMachine:{name}"),
    ),
    "AWS::Logs::LogGroup": ("LogGroupName", "{name}", _arn("logs", "log-group:{name}:*")),
    "AWS::Lambda::Function": ("FunctionName", "{name}", _arn("lambda", "function:{name}")),
    "AWS::EKS::Cluster": ("Name", "{name}", _arn("eks", "cluster/{name}")),
    "AWS::Events::Rule": ("Name", "{name}", _arn("events", "rule/{name}")),
    "AWS::SageMaker::Pipeline": (
        "PipelineName",
        "{name}",
        _arn("sagemaker", "pipeline/{lower}"),
    ),
    "AWS::SageMaker::ModelPackageGroup": (
        "ModelPackageGroupName",
        _arn("sagemaker", "model-package-group/{lower}"),
        _arn("sagemaker", "model-package-group/{lower}"),
    ),
    "AWS::SageMaker::FeatureGroup": (
        "FeatureGroupName",
        "{name}",
        _arn("sagemaker", "feature-group/{lower}"),
    ),
    "AWS::SecretsManager::Secret": (
        "Name",
        _arn("secretsmanager", "secret:{name}-AbCdEf"),
        _arn("secretsmanager", "secret:{name}-AbCdEf"),
    ),
    "AWS::SSM::Parameter": ("Name", "{name}", _arn("ssm", "parameter/{name}")),
    "AWS::RDS::DBInstance": ("DBInstanceIdentifier", "{name}", _arn("rds", "db:{name}")),
    "AWS::RDS::DBSubnetGroup": ("DBSubnetGroupName", "{name}", _arn("rds", "subgrp:{name}")),
    "AWS::RDS::DBParameterGroup": ("DBParameterGroupName", "{name}", _arn("rds", "pg:{name}")),
    "AWS::MWAA::Environment": ("Name", "{name}", _arn("airflow", "environment/{name}")),
    "AWS::MWAAServerless::Workflow": (
        "Name",
        _arn("airflow-serverless", "workflow/{name}"),
        _arn("airflow-serverless", "workflow/{name}"),
    ),
    "AWS::SageMaker::HumanTaskUi": (
        "HumanTaskUiName",
        _arn("sagemaker", "human-task-ui/{lower}"),
        _arn("sagemaker", "human-task-ui/{lower}"),
    ),
    "AWS::SageMaker::Workteam": (
        "WorkteamName",
        _arn("sagemaker", "workteam/private-crowd/{name}"),
        _arn("sagemaker", "workteam/private-crowd/{name}"),
    ),
    "AWS::SageMaker::Workforce": (
        "WorkforceName",
        "{name}",
        _arn("sagemaker", "workforce/{name}"),
    ),
    "AWS::Cognito::UserPoolGroup": ("GroupName", "{name}", "{name}"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "{name}", _arn("cloudwatch", "alarm:{name}")),
    "AWS::AutoScaling::AutoScalingGroup": ("AutoScalingGroupName", "{name}", "{name}"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        "Name",
        _arn("elasticloadbalancing", "loadbalancer/app/{name}/0123456789abcdef"),
        _arn("elasticloadbalancing", "loadbalancer/app/{name}/0123456789abcdef"),
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        "Name",
        _arn("elasticloadbalancing", "targetgroup/{name}/0123456789abcdef"),
        _arn("elasticloadbalancing", "targetgroup/{name}/0123456789abcdef"),
    ),
    "AWS::ElasticLoadBalancingV2::Listener": (
        "-",
        _arn("elasticloadbalancing", "listener/app/{name}/0123456789abcdef/0123456789abcdef"),
        _arn("elasticloadbalancing", "listener/app/{name}/0123456789abcdef/0123456789abcdef"),
    ),
}


def _named(
    app: ResolvedApp, stack: Stack, logical_id: str, resource: Mapping[str, Any]
) -> dict[str, str]:
    prop, _, _ = _NAMED[resource["Type"]]
    name = _name_property(app, stack, resource, prop, logical_id)
    path = str(app._resolve(stack, resource.get("Properties", {}).get("Path", "/")))
    return {"name": name, "lower": name.lower(), "path": path}


def _physical_ref(
    app: ResolvedApp, stack: Stack, logical_id: str, resource: Mapping[str, Any]
) -> Any:
    resource_type = resource["Type"]
    if resource_type in _EC2_ID_PREFIXES:
        return _ec2_id(_EC2_ID_PREFIXES[resource_type], stack, logical_id)
    if resource_type in _NAMED:
        return _NAMED[resource_type][1].format(**_named(app, stack, logical_id, resource))
    if resource_type == "AWS::Cognito::UserPool":
        return f"{REGION}_{_digest(stack.name, logical_id, length=9)}"
    if resource_type == "AWS::KMS::Key":
        return _key_id(stack, logical_id)
    if resource_type == "AWS::KMS::Alias":
        return app._resolve(stack, resource["Properties"]["AliasName"])
    if resource_type == "AWS::SecretsManager::SecretTargetAttachment":
        return app._resolve(stack, resource["Properties"]["SecretId"])
    # Any other resource: a generated name, the way Ref renders most physical ids.
    return _physical_name(stack.name, logical_id)


def _key_id(stack: Stack, logical_id: str) -> str:
    digest = _digest(stack.name, logical_id, length=32)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"


def _attribute(
    app: ResolvedApp, stack: Stack, logical_id: str, resource: Mapping[str, Any], attribute: str
) -> Any:
    resource_type = resource["Type"]
    ref = _physical_ref(app, stack, logical_id, resource)
    if resource_type == "AWS::KMS::Key" and attribute in {"Arn", "KeyArn"}:
        return _arn("kms", f"key/{ref}")
    if resource_type == "AWS::KMS::Key" and attribute == "KeyId":
        return ref
    if resource_type == "AWS::EC2::SecurityGroup" and attribute == "GroupId":
        return ref
    if resource_type == "AWS::EC2::VPC" and attribute == "DefaultSecurityGroup":
        return _ec2_id("sg", stack, f"{logical_id}.Default")
    if resource_type == "AWS::EC2::VPC" and attribute == "VpcId":
        return ref
    if resource_type == "AWS::EC2::VPC" and attribute == "CidrBlock":
        return app._resolve(stack, resource["Properties"]["CidrBlock"])
    if resource_type == "AWS::EC2::Subnet" and attribute == "SubnetId":
        return ref
    if resource_type == "AWS::EC2::EIP" and attribute == "AllocationId":
        return ref
    if resource_type == "AWS::EC2::LaunchTemplate" and attribute in {
        "LatestVersionNumber",
        "DefaultVersionNumber",
    }:
        return "1"
    if resource_type == "AWS::EKS::Cluster" and attribute == "ClusterSecurityGroupId":
        return _ec2_id("sg", stack, f"{logical_id}.ClusterSecurityGroup")
    if resource_type == "AWS::RDS::DBInstance" and attribute == "Endpoint.Address":
        return f"{ref}.{_digest(stack.name, logical_id)}.{REGION}.rds.amazonaws.com"
    if resource_type == "AWS::IAM::Role" and attribute == "RoleId":
        return f"AROA{_digest(stack.name, logical_id).upper()}"
    if resource_type == "AWS::S3::Bucket" and attribute in {"DomainName", "RegionalDomainName"}:
        return f"{ref}.s3.{REGION}.amazonaws.com"
    if resource_type == "AWS::ElasticLoadBalancingV2::LoadBalancer" and attribute == "DNSName":
        return f"{_physical_name(stack.name, logical_id, 32)}.{REGION}.elb.amazonaws.com"
    if resource_type == "AWS::ElasticLoadBalancingV2::TargetGroup" and attribute in {
        "TargetGroupFullName",
        "TargetGroupName",
    }:
        return str(ref).split(":", 5)[5].removeprefix("targetgroup/")
    if resource_type == "AWS::SNS::Topic" and attribute == "TopicName":
        return str(ref).rsplit(":", 1)[1]
    if resource_type == "AWS::SQS::Queue" and attribute == "QueueName":
        return str(ref).rsplit("/", 1)[1]
    if resource_type == "AWS::StepFunctions::StateMachine" and attribute == "Name":
        return str(ref).rsplit(":", 1)[1]
    if resource_type == "Custom::MlpipesS3Deployment" and attribute == "VersionId":
        # The S3 version id the deployment's CopyObject or PutObject answers with.
        return f"v{_digest(stack.name, logical_id)}"
    if resource_type == "Custom::MlpipesFlowDefinition" and attribute in {
        "FlowDefinitionName",
        "FlowDefinitionArn",
    }:
        # The handler names the flow definition <NamePrefix>-<10 hex digits of its request>.
        prefix = app._resolve(stack, resource["Properties"]["NamePrefix"])
        name = f"{prefix}-{_digest(stack.name, logical_id, length=10)}"
        return (
            name
            if attribute == "FlowDefinitionName"
            else _arn("sagemaker", f"flow-definition/{name}")
        )
    if resource_type == "AWS::SageMaker::Workforce" and attribute == "SubDomain":
        return f"{_digest(stack.name, logical_id, length=10)}.labeling.{REGION}.sagemaker.aws"
    if resource_type == "AWS::Cognito::UserPool" and attribute == "Arn":
        return _arn("cognito-idp", f"userpool/{ref}")
    if resource_type in _NAMED and attribute.endswith("Arn"):
        return _NAMED[resource_type][2].format(**_named(app, stack, logical_id, resource))
    if resource_type in _NAMED and attribute.endswith("Name"):
        return _named(app, stack, logical_id, resource)["name"]
    raise ResolutionError(
        f"{stack.name}: Fn::GetAtt {logical_id}.{attribute} of {resource_type} is not modelled"
    )
