"""CreateEndpointConfig of an endpoint step."""

from __future__ import annotations

from mlpipes_constructs.compile.instance_types import check_instance_type
from mlpipes_constructs.compile.renderer import JobContext, Request, ValueRenderer
from mlpipes_constructs.compile.rules import has_instance_storage_only
from mlpipes_constructs.spec import EndpointStep

#: The one production variant of a compiled endpoint, named as the SDK's ``production_variant``.
VARIANT_NAME = "AllTraffic"


def endpoint_config(step: EndpointStep, job: JobContext, render: ValueRenderer) -> Request:
    """CreateEndpointConfig without ``EndpointConfigName``, which the orchestrator sets.

    The key encrypts the instances' storage volumes, except on instance types with local NVMe
    storage only: CreateEndpointConfig refuses a ``KmsKeyId`` for them, and their storage is
    encrypted by the instance's hardware. An instance type given as a parameter gets the key.
    """
    check_instance_type("endpoint", step.instance_type, step=step.name, field="instance_type")
    request: Request = {
        "ProductionVariants": [
            {
                "VariantName": VARIANT_NAME,
                "ModelName": render.value(step.model),
                "InitialVariantWeight": 1,
                "InitialInstanceCount": render.value(step.initial_instance_count),
                "InstanceType": render.value(step.instance_type),
            }
        ],
    }
    if job.kms_key_id is not None and not has_instance_storage_only(step.instance_type):
        request["KmsKeyId"] = job.kms_key_id
    return request
