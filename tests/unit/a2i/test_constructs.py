"""The A2I constructs' templates, and every bad prop's error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from botocore.validate import ParamValidator

from mlpipes_constructs.a2i import (
    MAX_TEMPLATE_LENGTH,
    MODEL_REVIEW_TEMPLATE,
    ExistingWorkforce,
    FlowDefinition,
    HandlerPlacement,
    HumanTaskUi,
    PrivateWorkteam,
    ReviewInput,
)
from mlpipes_constructs.a2i._lambda.a2i_handlers import flow_definition as handler
from mlpipes_constructs.errors import PropsValidationError

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555"
WORKTEAM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/reviewers"
UI_ARN = "arn:aws:sagemaker:us-east-1:123456789012:human-task-ui/model-review-0123456789"
MINIMAL_TEMPLATE = (
    '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
    "<crowd-form>{{ task.input.text }}</crowd-form>"
)


def _bucket(stack: cdk.Stack) -> s3.IBucket:
    key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
    return s3.Bucket.from_bucket_attributes(
        stack, "Bucket", bucket_name="artifacts", encryption_key=key
    )


def _flow(stack: cdk.Stack, **overrides: Any) -> FlowDefinition:
    props: dict[str, Any] = {
        "human_task_ui": HumanTaskUi.from_human_task_ui_arn(stack, "Ui", UI_ARN),
        "workteam": PrivateWorkteam.from_workteam_arn(stack, "Team", WORKTEAM_ARN),
        "task_title": "Review a model",
        "task_description": "Approve or reject the model",
        "name_prefix": "model-review",
        **overrides,
    }
    if "output_bucket" not in props:
        props["output_bucket"] = _bucket(stack)
    return FlowDefinition(stack, "Flow", **props)


# -- HumanTaskUi -------------------------------------------------------------------------------


def test_the_default_template_is_the_packaged_model_review(stack: cdk.Stack) -> None:
    ui = HumanTaskUi(stack, "ReviewUi")
    content = MODEL_REVIEW_TEMPLATE.read_text(encoding="utf-8")
    resource = Template.from_stack(stack).find_resources("AWS::SageMaker::HumanTaskUi")
    (props,) = (item["Properties"] for item in resource.values())
    assert props["UiTemplate"] == {"Content": content}
    assert props["HumanTaskUiName"] == ui.human_task_ui_name
    assert ui.human_task_ui_name.startswith("reviewui-") and len(ui.human_task_ui_name) == 19
    for field in ("task.input.metrics", "task.input.samples", 'name="approve"', 'name="reject"'):
        assert field in content


def test_a_changed_template_gets_a_new_name(stack: cdk.Stack) -> None:
    first = HumanTaskUi(stack, "First", template=MINIMAL_TEMPLATE, name_prefix="ui")
    second = HumanTaskUi(stack, "Second", template=MINIMAL_TEMPLATE + " ", name_prefix="ui")
    same = HumanTaskUi(stack, "Same", template=MINIMAL_TEMPLATE, name_prefix="ui")
    assert first.human_task_ui_name != second.human_task_ui_name
    assert first.human_task_ui_name == same.human_task_ui_name


def test_a_template_file_is_read(stack: cdk.Stack, tmp_path: Path) -> None:
    path = tmp_path / "review.html"
    path.write_text(MINIMAL_TEMPLATE, encoding="utf-8")
    assert HumanTaskUi(stack, "Ui", template_file=path).template == MINIMAL_TEMPLATE


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"template": "<p>no form</p>"}, "template has no <crowd-form>...</crowd-form> element"),
        (
            {"template": "<crowd-form></crowd-form>"},
            "template does not load https://assets.crowd.aws/crowd-html-elements.js",
        ),
        ({"template": "  "}, "template is empty"),
        (
            {"template": MINIMAL_TEMPLATE + "x" * MAX_TEMPLATE_LENGTH},
            "template has 128,1.. characters; SageMaker takes at most 128,000",
        ),
        ({"template": MINIMAL_TEMPLATE + "{{ task"}, "2 '{{' but 1 '}}': a Liquid tag"),
        ({"template": MINIMAL_TEMPLATE + "{% if"}, "1 '{%' but 0 '%}'"),
        (
            {"template": MINIMAL_TEMPLATE, "template_file": "x.html"},
            "'template' and 'template_file' cannot be used together",
        ),
        ({"template_file": "/no/such/file.html"}, "template_file '/no/such/file.html' cannot be"),
        ({"name_prefix": "Review_UI"}, "name_prefix 'Review_UI' must be 1 to 52 lowercase"),
        ({"name_prefix": "a" * 53}, "must be 1 to 52 lowercase letters"),
    ],
)
def test_bad_task_ui_props_name_the_prop_and_the_rule(
    stack: cdk.Stack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(PropsValidationError, match=message.replace("(", r"\(").replace("{", r"\{")):
        HumanTaskUi(stack, "Ui", **props)


# -- PrivateWorkteam ---------------------------------------------------------------------------


def test_a_new_workforce_has_a_hardened_user_pool_and_the_workforce_callback(
    stack: cdk.Stack,
) -> None:
    team = PrivateWorkteam(stack, "Team", workteam_name="model-reviewers")
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::Cognito::UserPool",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "MfaConfiguration": "ON",
                    "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                    "UserPoolTier": "PLUS",
                    "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"},
                    "DeletionProtection": "ACTIVE",
                    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                    "Policies": {
                        "PasswordPolicy": Match.object_like(
                            {
                                "MinimumLength": 14,
                                "RequireLowercase": True,
                                "RequireUppercase": True,
                                "RequireNumbers": True,
                                "RequireSymbols": True,
                            }
                        )
                    },
                }
            ),
        },
    )
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "GenerateSecret": True,
            "AllowedOAuthFlows": ["implicit", "code"],
            "AllowedOAuthScopes": ["email", "openid", "profile"],
            "AllowedOAuthFlowsUserPoolClient": True,
            "CallbackURLs": ["https://localhost/"],
            "SupportedIdentityProviders": ["COGNITO"],
        },
    )
    template.has_resource_properties(
        "AWS::SageMaker::Workforce",
        {
            "WorkforceName": "mlpipes-reviewers",
            "CognitoConfig": {"ClientId": Match.any_value(), "UserPool": Match.any_value()},
        },
    )
    pool_id = stack.resolve(team.user_pool.user_pool_id)
    template.has_resource_properties(
        "Custom::MlpipesWorkforceCallback",
        {
            "UserPoolId": pool_id,
            "SubDomain": {"Fn::GetAtt": [Match.string_like_regexp("Workforce"), "SubDomain"]},
        },
    )
    template.has_resource(
        "AWS::SageMaker::Workteam",
        {
            "Properties": {
                "WorkteamName": "model-reviewers",
                "Description": "Reviewers of ML models before registration",
                "WorkforceName": "mlpipes-reviewers",
                "MemberDefinitions": [
                    {
                        "CognitoMemberDefinition": {
                            "CognitoUserPool": pool_id,
                            "CognitoUserGroup": {"Ref": Match.string_like_regexp("TeamGroup")},
                            "CognitoClientId": Match.any_value(),
                        }
                    }
                ],
            },
            "DependsOn": Match.array_with([Match.string_like_regexp("Workforce")]),
        },
    )
    # The callback handler may change only this user pool's clients.
    policies = template.find_resources(
        "AWS::IAM::ManagedPolicy",
        {"Properties": {"Description": Match.string_like_regexp("callback URL")}},
    )
    (policy,) = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    cognito = [s for s in statements if "cognito-idp:UpdateUserPoolClient" in s["Action"]]
    assert cognito == [
        {
            "Action": ["cognito-idp:DescribeUserPoolClient", "cognito-idp:UpdateUserPoolClient"],
            "Effect": "Allow",
            "Resource": stack.resolve(team.user_pool.user_pool_arn),
        }
    ]


def test_an_existing_workforce_gets_only_a_group_and_the_team(stack: cdk.Stack) -> None:
    from aws_cdk import aws_cognito as cognito

    pool = cognito.UserPool.from_user_pool_id(stack, "Pool", "us-east-1_AbCdEf123")
    PrivateWorkteam(
        stack,
        "Team",
        workteam_name="reviewers",
        existing_workforce=ExistingWorkforce("default", pool, "1example23456789"),
    )
    template = Template.from_stack(stack)
    for absent in ("AWS::Cognito::UserPool", "AWS::SageMaker::Workforce", "AWS::Lambda::Function"):
        template.resource_count_is(absent, 0)
    template.has_resource_properties(
        "AWS::SageMaker::Workteam",
        {
            "WorkforceName": "default",
            "MemberDefinitions": [
                {
                    "CognitoMemberDefinition": {
                        "CognitoUserPool": "us-east-1_AbCdEf123",
                        "CognitoUserGroup": Match.any_value(),
                        "CognitoClientId": "1example23456789",
                    }
                }
            ],
        },
    )


def test_an_imported_workteam_keeps_its_name(stack: cdk.Stack) -> None:
    team = PrivateWorkteam.from_workteam_arn(stack, "Team", WORKTEAM_ARN)
    assert (team.workteam_arn, team.workteam_name) == (WORKTEAM_ARN, "private-crowd/reviewers")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"workteam_name": "model reviewers"}, "workteam_name 'model reviewers' must be 1 to 63"),
        ({"workteam_name": "-x"}, "workteam_name '-x' must be"),
        ({"description": "d" * 201}, "description has 201 characters; expected 1 to 200"),
        ({"workforce_name": "bad_name"}, "workforce_name 'bad_name' must be 1 to 63"),
        ({"domain_prefix": "my-aws-reviewers"}, "domain_prefix 'my-aws-reviewers' must be"),
        ({"domain_prefix": "Reviewers"}, "domain_prefix 'Reviewers' must be"),
        ({"user_group_name": "g" * 129}, "user_group_name '.*' must have 1 to 128 characters"),
    ],
)
def test_bad_workteam_props_name_the_prop_and_the_rule(
    stack: cdk.Stack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(PropsValidationError, match=message):
        PrivateWorkteam(stack, "Team", **{"workteam_name": "reviewers", **props})


def test_an_existing_workforce_conflicts_with_new_workforce_props(stack: cdk.Stack) -> None:
    from aws_cdk import aws_cognito as cognito

    pool = cognito.UserPool.from_user_pool_id(stack, "Pool", "us-east-1_AbCdEf123")
    with pytest.raises(PropsValidationError) as raised:
        PrivateWorkteam(
            stack,
            "Team",
            workteam_name="reviewers",
            existing_workforce=ExistingWorkforce("default", pool, "client"),
            workforce_name="other",
            domain_prefix="other",
        )
    assert raised.value.problems == [
        "'existing_workforce' and 'workforce_name' cannot be used together: 'workforce_name' "
        "only applies to a new workforce",
        "'existing_workforce' and 'domain_prefix' cannot be used together: 'domain_prefix' "
        "only applies to a new workforce",
    ]


# -- FlowDefinition ----------------------------------------------------------------------------


def _sagemaker_shape(name: str) -> Any:
    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name)


def test_the_request_is_a_create_flow_definition_request_botocore_accepts(
    stack: cdk.Stack,
) -> None:
    _flow(stack, task_count=2, task_keywords=["model review"])
    (resource,) = Template.from_stack(stack).find_resources(handler_type()).values()
    properties = resource["Properties"]
    assert properties["NamePrefix"] == "model-review"
    assert properties["WaitTimeoutSeconds"] == 600
    role = properties["Request"].pop("RoleArn")
    assert role["Fn::GetAtt"][1] == "Arn"  # the role created for A2I
    properties["Request"]["RoleArn"] = "arn:aws:iam::123456789012:role/a2i"
    # CloudFormation hands custom resources strings; the handler turns them back to integers.
    as_sent = json.loads(json.dumps(properties), parse_int=str)
    request = handler.build_request(as_sent)
    report = ParamValidator().validate(request, _sagemaker_shape("CreateFlowDefinitionRequest"))
    assert not report.has_errors(), report.generate_report()
    assert request["HumanLoopConfig"] == {
        "WorkteamArn": WORKTEAM_ARN,
        "HumanTaskUiArn": UI_ARN,
        "TaskTitle": "Review a model",
        "TaskDescription": "Approve or reject the model",
        "TaskCount": 2,
        "TaskTimeLimitInSeconds": 3600,
        "TaskAvailabilityLifetimeInSeconds": 86400,
        "TaskKeywords": ["model review"],
    }
    assert request["OutputConfig"] == {"S3OutputPath": "s3://artifacts/a2i/", "KmsKeyId": KEY_ARN}


def handler_type() -> str:
    return "Custom::MlpipesFlowDefinition"


def _policy_statements(stack: cdk.Stack, description: str) -> list[dict[str, Any]]:
    policies = Template.from_stack(stack).find_resources(
        "AWS::IAM::ManagedPolicy",
        {"Properties": {"Description": Match.string_like_regexp(description)}},
    )
    (policy,) = policies.values()
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_the_a2i_role_writes_under_the_output_prefix_and_reads_review_inputs(
    stack: cdk.Stack,
) -> None:
    bucket = _bucket(stack)
    flow = _flow(
        stack,
        output_bucket=bucket,
        output_prefix="reviews/out/",
        review_inputs=[ReviewInput(bucket=bucket, prefix="pipelines/")],
    )
    statements = _policy_statements(stack, "writes human review output")
    via_s3 = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert {
        "Action": "s3:PutObject",
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::artifacts/reviews/out/*",
    } in statements
    assert {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": via_s3,
        "Effect": "Allow",
        "Resource": KEY_ARN,
    } in statements
    assert {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::artifacts/pipelines/*",
    } in statements
    assert all("*" not in json.dumps(s["Action"]) for s in statements)
    trust = Template.from_stack(stack).find_resources(
        "AWS::IAM::Role",
        {"Properties": {"Description": Match.string_like_regexp("writes human review output")}},
    )
    (role,) = trust.values()
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
        }
    ]
    assert flow.output_s3_uri == "s3://artifacts/reviews/out/"


def test_the_handler_manages_only_its_own_flow_definitions(stack: cdk.Stack) -> None:
    flow = _flow(stack)
    statements = _policy_statements(stack, "A2I flow definitions")
    sagemaker = [s for s in statements if "sagemaker:CreateFlowDefinition" in s["Action"]]
    assert sagemaker == [
        {
            "Action": [
                "sagemaker:CreateFlowDefinition",
                "sagemaker:DeleteFlowDefinition",
                "sagemaker:DescribeFlowDefinition",
            ],
            "Effect": "Allow",
            "Resource": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review-*",
        }
    ]
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": stack.resolve(flow.role.role_arn),
        }
    ]
    function = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    (props,) = (item["Properties"] for item in function.values())
    assert props["Handler"] == "a2i_handlers.flow_definition.handler"
    assert props["Timeout"] == 660  # the 10-minute wait and a minute to answer
    assert props["Runtime"] == "python3.14"


def test_the_handler_runs_in_the_given_vpc(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    _flow(stack, handler_placement=HandlerPlacement(vpc=vpc))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"VpcConfig": {"SubnetIds": Match.any_value(), "SecurityGroupIds": Match.any_value()}},
    )
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupEgress": [
                Match.object_like({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})
            ]
        },
    )


def test_grants_scope_human_loops_and_the_output(stack: cdk.Stack) -> None:
    flow = _flow(stack)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    flow.grant_start_human_loop(caller, human_loop_name_prefix="mlpipes-")
    flow.grant_read_output(caller)
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    arn = stack.resolve(flow.flow_definition_arn)
    assert {"Action": "sagemaker:StartHumanLoop", "Effect": "Allow", "Resource": arn} in statements
    assert {
        "Action": [
            "sagemaker:DeleteHumanLoop",
            "sagemaker:DescribeHumanLoop",
            "sagemaker:StopHumanLoop",
        ],
        "Effect": "Allow",
        "Resource": "arn:aws:sagemaker:us-east-1:123456789012:human-loop/mlpipes-*",
    } in statements
    assert {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::artifacts/a2i/*",
    } in statements
    assert {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": KEY_ARN,
    } in statements
    assert arn == {
        "Fn::GetAtt": [stack.get_logical_id(flow.resource.node.default_child), "FlowDefinitionArn"]
    }


def test_an_imported_flow_definition_grants_the_same(stack: cdk.Stack) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review-0123456789"
    flow = FlowDefinition.from_flow_definition_arn(stack, "Flow", arn, output_bucket=_bucket(stack))
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    flow.grant_start_human_loop(caller)
    flow.grant_read_output(caller)
    assert flow.flow_definition_name == "model-review-0123456789"
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {"Action": "sagemaker:StartHumanLoop", "Effect": "Allow", "Resource": arn} in statements
    without_output = FlowDefinition.from_flow_definition_arn(stack, "Other", arn)
    with pytest.raises(ValueError, match="imported without output_bucket"):
        without_output.grant_read_output(caller)


def test_activation_conditions_are_sent_as_compact_json(stack: cdk.Stack) -> None:
    conditions = {
        "Conditions": [
            {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 5}}
        ]
    }
    _flow(stack, activation_conditions=conditions)
    (resource,) = Template.from_stack(stack).find_resources(handler_type()).values()
    config = resource["Properties"]["Request"]["HumanLoopActivationConfig"]
    text = config["HumanLoopActivationConditionsConfig"]["HumanLoopActivationConditions"]
    assert json.loads(text) == conditions


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"task_count": 4}, "task_count 4 must be a whole number from 1 to 3"),
        ({"task_count": 0}, "task_count 0 must be a whole number from 1 to 3"),
        ({"task_title": "t" * 129}, "task_title has 129 characters; A2I takes 1 to 128"),
        ({"task_title": ""}, "task_title has 0 characters"),
        (
            {"task_description": "d" * 256},
            "task_description has 256 characters; A2I takes 1 to 255",
        ),
        ({"task_keywords": ["a", "b", "c", "d", "e", "f"]}, "task_keywords has 6 keywords"),
        ({"task_keywords": ["model-review"]}, "task_keywords 'model-review' must be 1 to 30"),
        ({"task_keywords": ["k" * 31]}, "must be 1 to 30 letters and digits"),
        ({"task_keywords": ["two  spaces"]}, "task_keywords 'two  spaces' must be"),
        ({"task_time_limit": cdk.Duration.seconds(29)}, "task_time_limit of 29 s must be whole"),
        ({"task_time_limit": cdk.Duration.hours(9)}, "task_time_limit of 32400 s .* 30 to 28800"),
        (
            {"task_availability_lifetime": cdk.Duration.days(11)},
            "task_availability_lifetime of 950400 s must be whole seconds from 1 to 864000",
        ),
        ({"output_prefix": "/a2i/"}, "output_prefix '/a2i/' must be a key prefix ending in '/'"),
        ({"output_prefix": "a2i"}, "output_prefix 'a2i' must be"),
        ({"activation_conditions": "{not json"}, "activation_conditions is not JSON"),
        ({"activation_conditions": {"x": 1}}, "must be a JSON object with a 'Conditions' list"),
        ({"name_prefix": "Model"}, "name_prefix 'Model' must be 1 to 52 lowercase"),
        (
            {"wait_timeout": cdk.Duration.minutes(15)},
            "wait_timeout of 900 s must be from 1 s to 840 s",
        ),
    ],
)
def test_bad_flow_definition_props_name_the_prop_and_the_rule(
    stack: cdk.Stack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(PropsValidationError, match=message):
        _flow(stack, **props)


def test_a_bucket_without_a_key_needs_an_encryption_key(stack: cdk.Stack) -> None:
    bucket = s3.Bucket.from_bucket_name(stack, "Plain", "plain")
    with pytest.raises(PropsValidationError, match="encryption_key is required: output_bucket"):
        _flow(stack, output_bucket=bucket)


def test_every_problem_is_reported_at_once(stack: cdk.Stack) -> None:
    with pytest.raises(PropsValidationError) as raised:
        _flow(stack, task_count=9, task_title="", output_prefix="x")
    assert len(raised.value.problems) == 3
