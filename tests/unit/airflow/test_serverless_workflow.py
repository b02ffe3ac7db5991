"""MwaaServerlessWorkflow: what MWAA Serverless refuses fails the synth; the version is wired."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_constructs.airflow import MwaaServerlessWorkflow
from mlpipes_constructs.airflow._serverless_rules import duration_seconds, workflow_problems
from mlpipes_constructs.errors import PropsValidationError
from tests.unit.airflow.helpers import as_list, only, resources_of, statements_of, vpc_stack

SAGEMAKER = "airflow.providers.amazon.aws.operators.sagemaker"
DEFINITION: dict[str, Any] = {
    "train_daily": {
        "schedule": "0 6 * * *",
        "start_date": "2025-01-01",
        "default_args": {"retries": 2, "retry_delay": 60},
        "tasks": {
            "preprocess": {
                "operator": f"{SAGEMAKER}.SageMakerProcessingOperator",
                "config": {"ProcessingJobName": "p"},
            },
            "train": {
                "operator": f"{SAGEMAKER}.SageMakerTrainingOperator",
                "config": {"TrainingJobName": "t"},
                "execution_timeout": {"__type__": "datetime.timedelta", "hours": 1},
                "dependencies": ["preprocess"],
            },
        },
    }
}


def _workflow(definition: dict[str, Any] | None = None, **props: Any) -> Template:
    stack, vpc = vpc_stack()
    key = kms.Key(stack, "Key")
    bucket = s3.Bucket(stack, "Bucket", versioned=True, encryption_key=key)
    if definition is not None:
        props["definition"] = definition
    elif "definition_file" not in props:
        props["definition"] = DEFINITION
    MwaaServerlessWorkflow(stack, "Workflow", vpc=vpc, bucket=bucket, encryption_key=key, **props)
    return Template.from_stack(stack)


def _with(path: str, value: Any) -> dict[str, Any]:
    """DEFINITION with the value at a dotted path replaced."""
    definition = copy.deepcopy(DEFINITION)
    *parents, last = path.split(".")
    node: Any = definition
    for part in parents:
        node = node[part]
    node[last] = value
    return definition


@pytest.fixture(scope="module")
def template() -> Template:
    return _workflow()


def test_workflow_reads_its_definition_at_the_uploaded_version(template: Template) -> None:
    _, workflow = only(template, "AWS::MWAAServerless::Workflow")
    props = workflow["Properties"]
    upload_id, upload = only(template, "Custom::MlpipesS3Deployment")
    location = props["DefinitionS3Location"]
    assert location["ObjectKey"] == "workflows/train_daily.yaml"
    assert location["VersionId"] == {"Fn::GetAtt": [upload_id, "VersionId"]}
    assert upload["Properties"]["Kind"] == "Content"
    assert yaml.safe_load(upload["Properties"]["Body"]) == DEFINITION
    assert props["Name"] == "train_daily"
    assert props["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KEY"
    assert len(props["NetworkConfiguration"]["SubnetIds"]) == 2
    log_ids = {
        logical_id
        for logical_id, group in resources_of(template, "AWS::Logs::LogGroup").items()
        if "KmsKeyId" in group["Properties"]
    }
    assert props["LoggingConfiguration"]["LogGroupName"]["Ref"] in log_ids


def test_changed_definition_changes_the_uploaded_body_and_only_that() -> None:
    first, same = _workflow(), _workflow()
    changed = _workflow(_with("train_daily.schedule", "0 7 * * *"))
    assert json.dumps(first.to_json(), sort_keys=True) == json.dumps(same.to_json(), sort_keys=True)
    _, before = only(first, "Custom::MlpipesS3Deployment")
    _, after = only(changed, "Custom::MlpipesS3Deployment")
    assert before["Properties"]["Body"] != after["Properties"]["Body"]
    assert only(first, "AWS::MWAAServerless::Workflow") == only(
        changed, "AWS::MWAAServerless::Workflow"
    )


def test_role_is_for_mwaa_serverless_and_reads_only_its_definition(template: Template) -> None:
    _, workflow = only(template, "AWS::MWAAServerless::Workflow")
    role_id = workflow["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = template.to_json()["Resources"][role_id]
    principals = [
        statement["Principal"]["Service"]
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    ]
    assert principals == ["airflow-serverless.amazonaws.com"]
    policy_id = next(
        logical_id
        for logical_id, policy in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    )
    statements = statements_of(template, policy_id)
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert not [action for action in actions if "*" in action]
    reads = next(s for s in statements if "s3:GetObject" in as_list(s["Action"]))
    assert "/workflows/train_daily.yaml" in json.dumps(reads["Resource"])


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            _with("train_daily.tasks.train.retries", 4),
            r"task 'train' of DAG 'train_daily': retries 4 must be a whole number from 0 to 3",
        ),
        (
            _with(
                "train_daily.default_args.retry_delay",
                {"__type__": "datetime.timedelta", "minutes": 6},
            ),
            r"DAG 'train_daily' default_args: retry_delay of 360 s must be at most 300 s",
        ),
        (
            _with("train_daily.tasks.train.execution_timeout", 3601),
            r"task 'train' of DAG 'train_daily': execution_timeout of 3601 s must be at most 3600",
        ),
        (
            _with("train_daily.schedule", "@daily"),
            r"DAG 'train_daily' schedule '@daily' must be a cron expression",
        ),
        (
            _with(
                "train_daily.tasks.preprocess.operator",
                "airflow.providers.standard.operators.python.PythonOperator",
            ),
            r"task 'preprocess' of DAG 'train_daily': operator 'airflow\.providers\.standard"
            r"\.operators\.python\.PythonOperator' is not on MWAA Serverless's allow-list",
        ),
        (
            _with("train_daily.tasks.preprocess.operator", "SageMakerProcessingOperator"),
            r"operator 'SageMakerProcessingOperator' is not on MWAA Serverless's allow-list",
        ),
        ({**DEFINITION, "second": DEFINITION["train_daily"]}, r"exactly one DAG .* found 2"),
    ],
)
def test_what_serverless_refuses_fails_the_synth(definition: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsValidationError, match=message):
        _workflow(definition)


def test_definition_file_is_checked_and_uploaded_as_an_asset(tmp_path: Path) -> None:
    path = tmp_path / "workflow.yaml"
    path.write_text(yaml.safe_dump(DEFINITION), encoding="utf-8")
    template = _workflow(definition_file=path)
    _, upload = only(template, "Custom::MlpipesS3Deployment")
    assert upload["Properties"]["Kind"] == "File"
    assert upload["Properties"]["SourceKey"].endswith(".yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_with("train_daily.tasks.train.retries", 9)), encoding="utf-8")
    with pytest.raises(PropsValidationError, match="retries 9"):
        _workflow(definition_file=bad)


def test_definition_and_definition_file_conflict(tmp_path: Path) -> None:
    with pytest.raises(PropsValidationError, match="'definition' and 'definition_file' cannot"):
        _workflow(DEFINITION, definition_file=tmp_path / "x.yaml")


def test_the_shipped_rules_accept_the_reference_definition() -> None:
    assert workflow_problems(DEFINITION) == []
    assert duration_seconds({"__type__": "datetime.timedelta", "minutes": 5}) == 300
    assert duration_seconds("5m") is None


def test_upload_function_uses_the_bucket_key_only_through_s3(template: Template) -> None:
    """The key may be shared (the foundation's): the upload function may not decrypt with it
    directly, only have S3 encrypt the objects it writes."""
    function_roles = [
        function["Properties"]["Role"]["Fn::GetAtt"][0]
        for function in resources_of(template, "AWS::Lambda::Function").values()
    ]
    policy_id = next(
        logical_id
        for logical_id, policy in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        if any({"Ref": role} in policy["Properties"]["Roles"] for role in function_roles)
    )
    statements = statements_of(template, policy_id)
    key_statements = [s for s in statements if "kms:GenerateDataKey" in as_list(s["Action"])]
    assert key_statements
    for statement in key_statements:
        assert statement["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
        }
