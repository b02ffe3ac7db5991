"""Properties every valid pipeline has, checked on random pipelines."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from mlpipes_constructs.spec import Pipeline, step_dependencies, topological_order
from tests.unit.spec.spec_strategies import pipelines

_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(pipelines())
def test_valid_pipelines_round_trip_through_json_unchanged(pipeline):
    text = pipeline.to_json()
    loaded = Pipeline.from_json(text)

    assert loaded == pipeline
    assert loaded.to_json() == text


@_SETTINGS
@given(pipelines())
def test_valid_pipelines_round_trip_through_plain_data_unchanged(pipeline):
    data = json.loads(json.dumps(pipeline.to_dict()))

    assert Pipeline.from_dict(data) == pipeline


@_SETTINGS
@given(pipelines())
def test_topological_order_runs_every_step_after_its_dependencies(pipeline):
    order = [step.name for step in topological_order(pipeline)]

    assert sorted(order) == sorted(step.name for step in pipeline.steps)
    position = {name: index for index, name in enumerate(order)}
    for name, dependencies in step_dependencies(pipeline).items():
        assert all(position[dependency] < position[name] for dependency in dependencies)
