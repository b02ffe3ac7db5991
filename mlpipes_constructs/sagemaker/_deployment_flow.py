"""The state machine that deploys an approved model package version to an endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

if TYPE_CHECKING:
    from mlpipes_constructs.sagemaker.approval_deployment import EndpointDeployment

VARIANT_NAME = "AllTraffic"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
#: Step Functions names an SDK integration error ``<Service>.<Exception>``; a SageMaker
#: validation error (such as describing an endpoint that does not exist) has no modeled
#: exception and arrives under one of these names.
#: Throttling: SageMaker models no throttling error, so a throttled SDK call may arrive under
#: the generic names as well (the rest of the library retries the same three).
THROTTLING_ERRORS: tuple[str, ...] = (
    "SageMaker.ThrottlingException",
    "SageMaker.SageMakerException",
    "SageMaker.AmazonSageMakerException",
)
#: Application Auto Scaling's own retryable errors.
AUTOSCALING_RETRY_ERRORS: tuple[str, ...] = (
    "ApplicationAutoScaling.ConcurrentUpdateException",
    "ApplicationAutoScaling.InternalServiceException",
)
SAGEMAKER_API_ERRORS: tuple[str, ...] = (
    "SageMaker.SageMakerException",
    "SageMaker.AmazonSageMakerException",
    "SageMaker.ResourceNotFoundException",
)


class DeploymentFlow:
    """Builds the deployment states in ``scope`` for one endpoint."""

    def __init__(
        self, scope: Construct, *, endpoint_name: str, endpoint_arn: str, data_capture_uri: str
    ) -> None:
        self.scope = scope
        self.endpoint_name = endpoint_name
        self.endpoint_arn = endpoint_arn
        self.data_capture_uri = data_capture_uri

    def build(
        self,
        deployment: EndpointDeployment,
        model_role: iam.IRole,
        key: kms.IKey,
        vpc_config: dict[str, Any] | None,
    ) -> sfn.IChainable:
        """The chain: check approval, create model and configuration, create or update."""
        endpoint = deployment.endpoint_name
        resource_name = sfn.JsonPath.format(
            f"{endpoint}-v{{}}-{{}}",
            sfn.JsonPath.string_at("$.package.version"),
            # The first group of a random UUID: 8 hex characters whatever the execution's
            # name (which may be 80 characters without a hyphen).
            sfn.JsonPath.array_get_item(sfn.JsonPath.string_split(sfn.JsonPath.uuid(), "-"), 0),
        )
        describe_package = self._sagemaker_call(
            "DescribeModelPackage",
            "describeModelPackage",
            {"ModelPackageName": sfn.JsonPath.string_at("$.detail.ModelPackageArn")},
            result_path="$.package",
            result_selector={
                "arn": sfn.JsonPath.string_at("$.ModelPackageArn"),
                "status": sfn.JsonPath.string_at("$.ModelApprovalStatus"),
                "version": sfn.JsonPath.number_at("$.ModelPackageVersion"),
            },
        )
        names = sfn.Pass(
            self.scope,
            "NameResources",
            parameters={"name": resource_name},
            result_path="$.names",
        )
        model: dict[str, Any] = {
            "ModelName": sfn.JsonPath.string_at("$.names.name"),
            "ExecutionRoleArn": model_role.role_arn,
            "PrimaryContainer": {"ModelPackageName": sfn.JsonPath.string_at("$.package.arn")},
        }
        if vpc_config is not None:
            model["VpcConfig"] = vpc_config
        create_model = self._sagemaker_call(
            "CreateModel", "createModel", model, result_path=sfn.JsonPath.DISCARD
        )
        endpoint_config: dict[str, Any] = {
            "EndpointConfigName": sfn.JsonPath.string_at("$.names.name"),
            "KmsKeyId": key.key_arn,
            "ProductionVariants": [
                {
                    "VariantName": VARIANT_NAME,
                    "ModelName": sfn.JsonPath.string_at("$.names.name"),
                    "InstanceType": deployment.instance_type,
                    "InitialInstanceCount": deployment.initial_instance_count,
                }
            ],
        }
        if deployment.data_capture_percentage > 0:
            endpoint_config["DataCaptureConfig"] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": deployment.data_capture_percentage,
                "DestinationS3Uri": self.data_capture_uri,
                "KmsKeyId": key.key_arn,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        create_config = self._sagemaker_call(
            "CreateEndpointConfig",
            "createEndpointConfig",
            endpoint_config,
            result_path=sfn.JsonPath.DISCARD,
        )
        # A missing endpoint arrives under the generic error names, which mean "create it"
        # here: only the explicit throttling error is retried.
        find_endpoint = self._sagemaker_call(
            "FindEndpoint",
            "describeEndpoint",
            {"EndpointName": endpoint},
            result_path="$.endpoint",
            result_selector={"status": sfn.JsonPath.string_at("$.EndpointStatus")},
            retry_errors=("SageMaker.ThrottlingException",),
        )
        endpoint_call = {
            "EndpointName": endpoint,
            "EndpointConfigName": sfn.JsonPath.string_at("$.names.name"),
        }
        create_endpoint = self._sagemaker_call(
            "CreateEndpoint", "createEndpoint", endpoint_call, result_path=sfn.JsonPath.DISCARD
        )
        # Application Auto Scaling must let go of the variant before its endpoint is updated.
        release_scaling = self._autoscaling_call(
            "DeregisterScalableTarget", "deregisterScalableTarget", {}
        )
        update_endpoint = self._sagemaker_call(
            "UpdateEndpoint", "updateEndpoint", endpoint_call, result_path=sfn.JsonPath.DISCARD
        )
        # An endpoint still updating from an earlier approval cannot be updated yet.
        update_endpoint.add_retry(
            errors=list(SAGEMAKER_API_ERRORS),
            interval=Duration.minutes(1),
            max_attempts=10,
            backoff_rate=1,
        )
        wait = sfn.Wait(
            self.scope, "WaitForEndpoint", time=sfn.WaitTime.duration(Duration.minutes(1))
        )
        # The whole description is kept: EndpointConfigName and FailureReason are not always
        # present, and a result selector naming a missing field fails the state.
        check_endpoint = self._sagemaker_call(
            "CheckEndpoint",
            "describeEndpoint",
            {"EndpointName": endpoint},
            result_path="$.endpoint",
        )
        register_scaling, scaling_policy = self._scaling_states(
            deployment, "RegisterScalableTarget", "PutScalingPolicy"
        )
        # The old configuration's autoscaling was deregistered before the update; whenever the
        # update does not go live, the variant gets it back before the execution fails.
        restore_target, restore_policy = self._scaling_states(
            deployment, "RestoreScalableTarget", "RestoreScalingPolicy"
        )
        deployed = sfn.Succeed(self.scope, "Deployed")
        failed = sfn.Fail(
            self.scope,
            "EndpointFailed",
            error="EndpointFailed",
            cause=f"The endpoint {endpoint} did not reach InService",
        )
        # A failed UpdateEndpoint is rolled back: the endpoint is InService again, on the old
        # configuration, so InService alone does not mean this version was deployed.
        rolled_back = sfn.Fail(
            self.scope,
            "EndpointRolledBack",
            error="EndpointRolledBack",
            cause_path=sfn.JsonPath.format(
                f"Updating the endpoint {endpoint} to the endpoint config {{}} failed and "
                "SageMaker rolled it back to {}: {}",
                sfn.JsonPath.string_at("$.names.name"),
                sfn.JsonPath.string_at("$.endpoint.EndpointConfigName"),
                sfn.JsonPath.string_at("$.endpoint.FailureReason"),
            ),
        )
        replaced = sfn.Fail(
            self.scope,
            "EndpointConfigReplaced",
            error="EndpointConfigReplaced",
            cause_path=sfn.JsonPath.format(
                f"The endpoint {endpoint} runs the endpoint config {{}} instead of {{}}; "
                "a later deployment may have replaced it",
                sfn.JsonPath.string_at("$.endpoint.EndpointConfigName"),
                sfn.JsonPath.string_at("$.names.name"),
            ),
        )
        update_failed = sfn.Fail(
            self.scope,
            "UpdateEndpointFailed",
            error="UpdateEndpointFailed",
            cause_path=sfn.JsonPath.format(
                f"UpdateEndpoint of {endpoint} to the endpoint config {{}} failed: {{}}",
                sfn.JsonPath.string_at("$.names.name"),
                sfn.JsonPath.string_at("$.updateError.Cause"),
            ),
        )
        restored = restore_target.next(restore_policy).next(
            sfn.Choice(self.scope, "UpdateRejected?")
            .when(sfn.Condition.is_present("$.updateError"), update_failed)
            .otherwise(rolled_back)
        )
        no_longer_approved = sfn.Succeed(
            self.scope, "NoLongerApproved", comment="The version was rejected before deployment"
        )

        find_endpoint.add_catch(
            create_endpoint, errors=list(SAGEMAKER_API_ERRORS), result_path="$.lookupError"
        )
        release_scaling.add_catch(
            update_endpoint,
            errors=["ApplicationAutoScaling.ObjectNotFoundException"],
            result_path=sfn.JsonPath.DISCARD,
        )
        # Still failing after its retries: the endpoint keeps its configuration.
        update_endpoint.add_catch(restored, errors=["States.ALL"], result_path="$.updateError")
        live_config = (
            sfn.Choice(self.scope, "NewConfigLive?")
            .when(
                sfn.Condition.string_equals_json_path(
                    "$.endpoint.EndpointConfigName", "$.names.name"
                ),
                register_scaling.next(scaling_policy).next(deployed),
            )
            .when(sfn.Condition.is_present("$.endpoint.FailureReason"), restored)
            .otherwise(replaced)
        )
        wait_loop = wait.next(check_endpoint).next(
            sfn.Choice(self.scope, "EndpointInService?")
            .when(
                sfn.Condition.string_equals("$.endpoint.EndpointStatus", "InService"), live_config
            )
            .when(sfn.Condition.string_equals("$.endpoint.EndpointStatus", "Failed"), failed)
            .otherwise(wait)
        )
        create_endpoint.next(wait_loop)
        release_scaling.next(update_endpoint)
        update_endpoint.next(wait_loop)
        return describe_package.next(
            sfn.Choice(self.scope, "StillApproved?")
            .when(
                sfn.Condition.string_equals("$.package.status", "Approved"),
                names.next(create_model)
                .next(create_config)
                .next(find_endpoint)
                .next(
                    sfn.Choice(self.scope, "EndpointExists?")
                    .when(sfn.Condition.is_present("$.endpoint.status"), release_scaling)
                    .otherwise(create_endpoint)
                ),
            )
            .otherwise(no_longer_approved)
        )

    def _sagemaker_call(
        self,
        state_id: str,
        action: str,
        parameters: dict[str, Any],
        *,
        result_path: str,
        result_selector: dict[str, Any] | None = None,
        retry_errors: tuple[str, ...] = THROTTLING_ERRORS,
    ) -> tasks.CallAwsService:
        # iam_resources is required by the task class; the permissions themselves are in the
        # deployment's managed policy (the state machine role takes no inline grants).
        call = tasks.CallAwsService(
            self.scope,
            state_id,
            service="sagemaker",
            action=action,
            iam_resources=[self.endpoint_arn],
            parameters=parameters,
            result_path=result_path,
            result_selector=result_selector,
        )
        call.add_retry(
            errors=list(retry_errors),
            interval=Duration.seconds(2),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return call

    def _scaling_states(
        self, deployment: EndpointDeployment, target_id: str, policy_id: str
    ) -> tuple[tasks.CallAwsService, tasks.CallAwsService]:
        """Register the variant as a scalable target, then put its target tracking policy."""
        target = self._autoscaling_call(
            target_id,
            "registerScalableTarget",
            {"MinCapacity": deployment.min_capacity, "MaxCapacity": deployment.max_capacity},
        )
        policy = self._autoscaling_call(
            policy_id,
            "putScalingPolicy",
            {
                "PolicyName": f"{self.endpoint_name}-invocations-per-instance",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": deployment.target_invocations_per_instance,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "ScaleInCooldown": 300,
                    "ScaleOutCooldown": 60,
                },
            },
        )
        return target, policy

    def _autoscaling_call(
        self, state_id: str, action: str, parameters: dict[str, Any]
    ) -> tasks.CallAwsService:
        call = tasks.CallAwsService(
            self.scope,
            state_id,
            service="applicationautoscaling",
            action=action,
            iam_action=f"application-autoscaling:{action[0].upper()}{action[1:]}",
            iam_resources=[self.endpoint_arn],
            parameters={
                "ServiceNamespace": "sagemaker",
                "ResourceId": f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
                "ScalableDimension": SCALABLE_DIMENSION,
                **parameters,
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        call.add_retry(
            errors=list(AUTOSCALING_RETRY_ERRORS),
            interval=Duration.seconds(2),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return call
