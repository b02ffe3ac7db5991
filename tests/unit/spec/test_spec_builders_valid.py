from tests.unit.spec.spec_builders import STEP_NAMES, valid_pipeline


def test_the_base_pipeline_of_the_validation_tests_is_valid():
    pipeline = valid_pipeline()

    assert tuple(step.name for step in pipeline.steps) == STEP_NAMES
    assert {step.kind for step in pipeline.steps} == {
        "processing",
        "training",
        "tuning",
        "condition",
        "register_model",
        "create_model",
        "transform",
        "endpoint",
        "fail",
        "human_review",
    }
