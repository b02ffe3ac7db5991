"""The README's SageMaker Pipelines example runs as written, in another CDK app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

README = Path(__file__).resolve().parents[3] / "README.md"
MAX_SUBCLASS_LINES = 20


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- sagemaker-quickstart -->\s*```python\n(.*?)```\s*<!-- /sagemaker-quickstart -->",
        text,
        re.S,
    )
    assert match, "README has no SageMaker Pipelines example"
    return match.group(1)


def test_subclass_is_shorter_than_twenty_lines() -> None:
    lines = _example().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class ChurnPipeline("))
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace())
    subclass = [line for line in lines[start:end] if line.strip()]
    assert len(subclass) < MAX_SUBCLASS_LINES, "\n".join(subclass)


@pytest.fixture(scope="module")
def churn_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("churn-app")
    code = workdir / "jobs" / "churn"
    code.mkdir(parents=True)
    (code / "features.py").write_text("print('features')\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        patch.setenv("CDK_OUTDIR", str(workdir / "cdk.out"))
        namespace: dict[str, object] = {}
        exec(compile(_example(), "README.md", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, cdk.App)
    template: dict[str, Any] = json.loads(
        (Path(app.outdir) / "Churn.template.json").read_text(encoding="utf-8")
    )
    return template


def test_example_deploys_the_spec_with_its_code_and_trigger(churn_template: dict[str, Any]) -> None:
    template = Template.from_json(churn_template)
    template.has_resource_properties(
        "AWS::SageMaker::Pipeline",
        {
            "PipelineName": "churn-features",
            "PipelineDefinition": {
                "PipelineDefinitionBody": Match.object_like({"Fn::Join": Match.any_value()})
            },
        },
    )
    (pipeline,) = template.find_resources("AWS::SageMaker::Pipeline").values()
    body = json.dumps(pipeline["Properties"]["PipelineDefinition"])
    assert "BuildFeatures" in body and "features.py" in body and ".zip" in body
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {
                    "detail": Match.object_like(
                        {"object": {"key": [{"prefix": "data/churn/incoming/"}]}}
                    )
                }
            )
        },
    )


def test_example_uses_the_foundation_job_role_and_key(churn_template: dict[str, Any]) -> None:
    (pipeline,) = (
        Template.from_json(churn_template).find_resources("AWS::SageMaker::Pipeline").values()
    )
    body = json.dumps(pipeline["Properties"]["PipelineDefinition"])
    # The job role and key come from the Platform stack through cross-stack references.
    assert "Platform" in body
    policies = Template.from_json(churn_template).find_resources("AWS::IAM::ManagedPolicy")
    pass_role = [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "PassJobRole"
    ]
    assert len(pass_role) == 1
    assert "Platform" in json.dumps(pass_role[0]["Resource"])
