"""Job names: unique per execution, valid for SageMaker, however long the execution name."""

from __future__ import annotations

import uuid

from mlpipes_constructs.stepfunctions import naming


def test_slugs_fit_the_limits_and_stay_distinct_when_shortened() -> None:
    long_a = "Preprocess-the-raw-customer-reviews-for-the-storefront-team-a"
    long_b = "Preprocess-the-raw-customer-reviews-for-the-storefront-team-b"
    a = naming.slug("mlpipes-review-c", long_a)
    b = naming.slug("mlpipes-review-c", long_b)
    assert a != b
    assert len(a) == naming.MAX_NAME_LENGTH - naming.RUN_TOKEN_LENGTH - 1
    tuning = naming.slug("mlpipes-review-c", "Tune", naming.MAX_TUNING_JOB_NAME_LENGTH)
    assert len(tuning) <= naming.MAX_TUNING_JOB_NAME_LENGTH - naming.RUN_TOKEN_LENGTH - 1
    assert naming.slug("mlpipes", "Train") == "mlpipes-train"


def test_names_are_valid_and_unique_for_two_runs() -> None:
    slug = naming.slug("mlpipes-review-c", "Preprocess")
    names = {
        naming.resource_name(slug, naming.run_token_from_uuid(str(uuid.uuid4()))) for _ in range(2)
    }
    assert len(names) == 2
    for name in names:
        assert naming.is_sagemaker_name(name), name
        assert len(name) <= naming.MAX_NAME_LENGTH


def test_the_asl_construction_matches_the_python_mirror() -> None:
    sample = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert naming.run_token_from_uuid(sample) == "0f8fad5b70867728950e"
    assert len(naming.run_token_from_uuid(sample)) == naming.RUN_TOKEN_LENGTH
    assert naming.uuid_parts_expression() == "States.StringSplit(States.UUID(), '-')"
    assert naming.run_token_expression() == (
        "States.Format('{}{}', States.ArrayGetItem($.uuid, 0), States.ArrayGetItem($.uuid, 4))"
    )
    assert naming.name_expression("p-train") == "States.Format('p-train-{}', $.run.token)"
