"""The bundled Step Functions stack's state machine is valid ASL."""

from __future__ import annotations

from mlpipes_constructs.reference import reference_pipeline
from tests.asl import all_states, definition_of, transition_problems
from tests.conftest import SynthesizedApp


def test_stack_definition_is_valid_asl_with_every_spec_step(bundled_app: SynthesizedApp) -> None:
    definition = definition_of(bundled_app.template("stepfunctions"), {"AWS::Partition": "aws"})

    assert list(transition_problems(definition)) == []
    steps = {step.name for step in reference_pipeline(input_data_uri="s3://b/d/").steps}
    states = dict(all_states(definition))
    assert steps <= set(states)
    assert len(states) == sum(1 for _ in all_states(definition)), "state names are not unique"
    preprocess = states["Preprocess"]["Parameters"]
    assert preprocess["NetworkConfig"]["VpcConfig"]["Subnets"]
    assert preprocess["ProcessingInputs"][-1]["S3Input"]["S3Uri"].startswith("s3://")
    assert states["RegisterModel"]["Parameters"]["ModelPackageGroupName"] == (
        "mlpipes-review-classifier-sfn"
    )


def test_stack_has_no_inline_policies(bundled_app: SynthesizedApp) -> None:
    resources = bundled_app.template("stepfunctions")["Resources"].values()
    assert [r for r in resources if r["Type"] == "AWS::IAM::Policy"] == []
