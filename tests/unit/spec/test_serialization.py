"""The JSON form of a pipeline: exact round trip, and clear errors for malformed documents."""

from __future__ import annotations

import json

import pytest

from mlpipes_constructs.spec import (
    SCHEMA_VERSION,
    Parameter,
    Pipeline,
    SpecFormatError,
    SpecValidationError,
)
from tests.unit.spec.spec_builders import valid_pipeline


def test_a_pipeline_with_every_kind_of_step_and_reference_round_trips():
    pipeline = valid_pipeline()

    assert Pipeline.from_dict(pipeline.to_dict()) == pipeline
    assert Pipeline.from_json(pipeline.to_json()) == pipeline


def test_lists_given_to_the_constructor_are_stored_as_tuples():
    pipeline = valid_pipeline()

    assert isinstance(pipeline.steps, tuple)
    assert isinstance(pipeline.step("Prep").outputs, tuple)
    assert isinstance(pipeline.step("Gate").condition.conditions, tuple)


def test_the_document_carries_the_schema_version_and_kind_tags():
    data = valid_pipeline().to_dict()

    assert data["schema_version"] == SCHEMA_VERSION == "1"
    assert [step["kind"] for step in data["steps"]] == [
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
    ]
    assert data["steps"][1]["instance_type"] == {"kind": "parameter", "name": "InstanceType"}
    assert data["steps"][3]["condition"]["conditions"][0]["operator"] == ">="


def test_fields_at_their_default_are_left_out():
    prep = valid_pipeline().to_dict()["steps"][0]

    assert "instance_count" not in prep
    assert "volume_size_gb" not in prep
    assert "display_name" not in prep
    assert prep["instance_type"] == "ml.m5.xlarge"


def test_a_boolean_is_not_confused_with_an_integer_default():
    pipeline = Pipeline(
        name="p",
        steps=valid_pipeline().steps,
        parameters=[*valid_pipeline().parameters, Parameter.boolean("Flag", True)],
    )

    loaded = Pipeline.from_json(pipeline.to_json())

    assert loaded.parameter("Flag").default is True


def _document() -> dict:
    return json.loads(valid_pipeline().to_json())


@pytest.mark.parametrize("version", [None, "2", 1])
def test_an_unknown_schema_version_is_rejected(version):
    data = _document()
    data["schema_version"] = version

    with pytest.raises(SpecFormatError) as raised:
        Pipeline.from_dict(data)

    assert str(raised.value) == (
        f"$.schema_version: unsupported schema version {version!r}; expected '1'"
    )


def test_an_unknown_step_kind_is_rejected():
    data = _document()
    data["steps"][2]["kind"] = "notebook"

    with pytest.raises(SpecFormatError) as raised:
        Pipeline.from_dict(data)

    assert str(raised.value) == (
        "$.steps[2].kind: unknown kind 'notebook'; expected one of condition, create_model, "
        "endpoint, fail, human_review, processing, register_model, training, transform, tuning"
    )


def test_a_step_without_kind_is_rejected():
    data = _document()
    del data["steps"][0]["kind"]

    with pytest.raises(SpecFormatError, match=r"^\$\.steps\[0\]: missing 'kind'; expected one of"):
        Pipeline.from_dict(data)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda d: d["steps"][0].update(instance_typ="ml.m5.large"),
            "$.steps[0]: unknown field 'instance_typ' for ProcessingStep",
            id="unknown-field",
        ),
        pytest.param(
            lambda d: d["steps"][0].pop("entry_point"),
            "$.steps[0]: ProcessingStep is missing field(s) entry_point",
            id="missing-field",
        ),
        pytest.param(
            lambda d: d["steps"][0].update(volume_size_gb="30"),
            "$.steps[0].volume_size_gb: expected an integer, got '30'",
            id="wrong-scalar-type",
        ),
        pytest.param(
            lambda d: d["steps"][0].update(volume_size_gb=True),
            "$.steps[0].volume_size_gb: expected an integer, got True",
            id="boolean-for-integer",
        ),
        pytest.param(
            lambda d: d["steps"][0].update(outputs={"train": "/opt/ml/processing/train"}),
            "$.steps[0].outputs: expected a list, got {'train': '/opt/ml/processing/train'}",
            id="object-for-list",
        ),
        pytest.param(
            lambda d: d["steps"][3]["condition"]["conditions"][0].update(operator="=>"),
            "$.steps[3].condition.conditions[0].operator: expected one of '==', '!=', '>', "
            "'>=', '<', '<=', got '=>'",
            id="unknown-enum-value",
        ),
        pytest.param(
            lambda d: d["steps"][1].update(instance_type={"kind": "step_output", "step": "Prep"}),
            "$.steps[1].instance_type.kind: unknown kind 'step_output'; expected one of parameter",
            id="reference-not-allowed-here",
        ),
        pytest.param(
            lambda d: d["steps"][1].update(instance_count=[2]),
            "$.steps[1].instance_count: expected an integer or a ParameterRef object, got [2]",
            id="no-union-member-fits",
        ),
    ],
)
def test_malformed_documents_are_rejected_with_the_location(edit, expected):
    data = _document()
    edit(data)

    with pytest.raises(SpecFormatError) as raised:
        Pipeline.from_dict(data)

    assert str(raised.value) == expected


def test_loading_a_well_formed_but_invalid_pipeline_raises_its_validation_problems():
    data = _document()
    data["steps"][0]["instance_type"] = "m5.large"

    with pytest.raises(SpecValidationError) as raised:
        Pipeline.from_dict(data)

    assert raised.value.problems == [
        "instance_type 'm5.large' of step 'Prep' is not a SageMaker instance type; "
        "expected e.g. 'ml.m5.large'"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "$: expected a JSON object, got list"),
        (
            "{",
            "$: not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
    ],
)
def test_from_json_rejects_text_that_is_not_a_json_object(text, expected):
    with pytest.raises(SpecFormatError) as raised:
        Pipeline.from_json(text)

    assert str(raised.value) == expected
