"""A pipeline spec compiled to Kubeflow Pipelines and registered with a cluster's KFP."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Unpack, cast

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_eks as eks
from aws_cdk import aws_eks_v2 as eks_v2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compliance import acknowledge_wildcard
from mlpipes_constructs.core._defaults import (
    DEFAULT_ARTIFACT_PREFIX,
    artifact_folder,
    job_role_of,
    require_encryption_key,
)
from mlpipes_constructs.core._job_code import JobCode
from mlpipes_constructs.core._schedule import schedule_input_problems, spec_parameter_types
from mlpipes_constructs.core.metrics import MetricOptions
from mlpipes_constructs.core.pipeline_base import MlPipelineBase
from mlpipes_constructs.core.placement import JobPlacementOptions, resolve_placement
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.kubeflow._registration import SCRIPT as REGISTRATION_SCRIPT
from mlpipes_constructs.kubeflow.compiler import CompiledKfpPipeline, compile_kfp_pipeline
from mlpipes_constructs.spec import Pipeline

DEFAULT_NAMESPACE = "kubeflow"
DEFAULT_API_URL = "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
#: The packaged Dockerfile of the default component image.
COMPONENT_IMAGE_DIRECTORY = Path(__file__).resolve().parent / "component_image"
#: What the IR is compiled with before the image is known (the image may be a deploy-time
#: value); the version name hashes this IR and the image.
_IMAGE_PLACEHOLDER = "mlpipes-component-image"
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
#: KFP's cron: six fields, seconds first (robfig/cron).
_KFP_CRON_FIELDS = 6

#: Step kind -> (SageMaker resource type, actions on resources named ``<slug>-*``).
_KIND_PERMISSIONS: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "processing": (
        (
            "processing-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
            ),
        ),
    ),
    "training": (
        (
            "training-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
            ),
        ),
    ),
    # A tuning job's training jobs are named after it: ``<tuning job>-<nnn>-<suffix>``.
    "tuning": (
        (
            "hyper-parameter-tuning-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
            ),
        ),
        ("training-job", ("sagemaker:DescribeTrainingJob",)),
    ),
    "create_model": (("model", ("sagemaker:AddTags", "sagemaker:CreateModel")),),
    "transform": (
        (
            "transform-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
            ),
        ),
    ),
    "endpoint": (
        (
            "endpoint-config",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:UpdateEndpoint",
            ),
        ),
    ),
}


class KubeflowPipeline(MlPipelineBase):
    """A pipeline spec compiled to KFP, registered with the cluster's Kubeflow Pipelines.

    The construct uploads each local code directory as a ZIP asset (readable by the job role
    only), compiles the spec with :func:`compile_kfp_pipeline`, and registers the IR with KFP
    at deploy time: a ConfigMap holds the IR, and a Kubernetes Job (named after the IR's hash,
    so a changed pipeline runs a new Job) calls KFP's REST API v2beta1 to create the pipeline
    when it is missing and upload a version named after the hash; with ``schedule`` it creates
    that version's recurring run and deletes those of earlier versions. KFP 2.17's
    Kubernetes-native pipeline store (``Pipeline``/``PipelineVersion`` resources) would need
    the API server in Kubernetes store mode and its webhooks with cert-manager, which the
    standalone ``platform-agnostic`` install does not run, so the API is used.

    The tasks' pods run as the service account :attr:`service_account_name` in ``namespace``,
    whose EKS Pod Identity role (:attr:`role`) may only: start, describe and stop the kinds of
    SageMaker jobs the spec has, named ``<slug>-*`` for its steps; register versions in its
    model package groups; create its endpoint configurations and endpoints; pass the job role
    to SageMaker; read the reports under the pipeline's artifact folder and use the key. Runs
    started by hand must name this service account (recurring runs do).

    KFP publishes no CloudWatch metrics of its runs, so ``metric`` and the ``metric_*``
    helpers raise ``NotImplementedError``; read run states from KFP's API.

    Args:
        cluster: the EKS cluster whose KFP runs the pipeline (the Pod Identity agent on).
        pipeline: the spec to compile.
        job_role: the role the SageMaker jobs run as.
        artifact_bucket: where outputs go.
        encryption_key: the key of job outputs and volumes (and reading reports).
            Default: ``artifact_bucket``'s KMS key; required when there is none.
        artifact_prefix: bucket folder outputs go under (``<artifact_prefix><spec name>/``).
            Default: ``"pipelines/"``.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        namespace: KFP's namespace, where the tasks' pods and the registration Job run.
            Default: ``"kubeflow"``.
        api_url: KFP's API. Default: ``http://ml-pipeline.kubeflow.svc.cluster.local:8888``.
        component_image: the image of the tasks and the registration Job (Python 3, boto3,
            kfp). Default: built from the packaged Dockerfile (``component_image/``) as a
            CDK image asset when the stack is deployed (Docker is needed then, not at synth).
        service_account_name: the tasks' service account. Default: ``<pipeline name>-runner``.
        schedule: a KFP cron expression (six fields, seconds first, e.g. ``"0 0 3 * * *"``)
            for a recurring run. Default: no recurring run.
        schedule_input: parameter values of the recurring runs, checked against the spec's
            parameters. Default: ``{}`` (the defaults).
    """

    METRIC_NAMESPACE: ClassVar[str] = "mlpipes/KubeflowPipelines"
    METRIC_NAMES: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks_v2.ICluster | eks_v2.Cluster,
        pipeline: Pipeline,
        job_role: SageMakerJobRole | iam.IRole,
        artifact_bucket: s3.IBucket,
        encryption_key: kms.IKey | None = None,
        artifact_prefix: str | None = None,
        placement: JobPlacementOptions | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        api_url: str = DEFAULT_API_URL,
        component_image: str | None = None,
        service_account_name: str | None = None,
        schedule: str | None = None,
        schedule_input: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if not isinstance(pipeline, Pipeline):
            problems.add(
                f"pipeline {type(pipeline).__name__!r} is not a spec "
                "(mlpipes_constructs.spec.Pipeline)"
            )
        key = require_encryption_key(problems, encryption_key, artifact_bucket)
        for prop, value in (
            ("namespace", namespace),
            ("service_account_name", service_account_name),
        ):
            if value is not None and not is_unresolved(value):
                problems.require(
                    len(value) <= 63 and _K8S_NAME.fullmatch(value) is not None,
                    f"{prop} '{value}' must be a Kubernetes name: at most 63 lowercase letters, "
                    "digits and '-', starting and ending with a letter or digit",
                )
        problems.require(
            api_url.startswith(("http://", "https://")),
            f"api_url '{api_url}' must be an http:// or https:// URL of KFP's API",
        )
        if schedule is not None and len(schedule.split()) != _KFP_CRON_FIELDS:
            problems.add(
                f"schedule '{schedule}' must be a KFP cron expression of 6 fields, seconds "
                "first, e.g. '0 0 3 * * *'"
            )
        if schedule_input is not None and schedule is None:
            problems.conflict("schedule_input", "schedule=None", "there are no scheduled runs")
        if isinstance(pipeline, Pipeline) and schedule_input:
            for problem in schedule_input_problems(spec_parameter_types(pipeline), schedule_input):
                problems.add(problem)
        problems.raise_if_any()
        assert key is not None

        self.spec = pipeline
        self.encryption_key: kms.IKey = key
        self.namespace = namespace
        # jsii's Cluster class does not type-check as its own ICluster protocol.
        self.cluster = cast(eks_v2.ICluster, cluster)
        role = job_role_of(job_role)
        folder = artifact_folder(
            artifact_prefix if artifact_prefix is not None else DEFAULT_ARTIFACT_PREFIX,
            pipeline.name,
        )
        code = JobCode(
            self,
            "JobCode",
            pipeline=pipeline,
            job_role=role,
            description="Lets the jobs of an mlpipes KFP pipeline read their code",
        )
        self.code_assets = code.assets
        network: JobPlacement | None = None
        if placement is not None:
            network = resolve_placement(
                self, placement, description="Jobs of an mlpipes KFP pipeline"
            ).placement
        self.image_asset: ecr_assets.DockerImageAsset | None = None
        if component_image is None:
            self.image_asset = ecr_assets.DockerImageAsset(
                self, "ComponentImage", directory=str(COMPONENT_IMAGE_DIRECTORY)
            )
            component_image = self.image_asset.image_uri
            image_identity = self.image_asset.asset_hash
        else:
            image_identity = component_image
        stack = Stack.of(self)
        self.compiled: CompiledKfpPipeline = compile_kfp_pipeline(
            pipeline,
            role_arn=role.role_arn,
            artifact_bucket_name=artifact_bucket.bucket_name,
            artifact_prefix=folder,
            code_locations=code.locations,
            image=_IMAGE_PLACEHOLDER,
            region=stack.region,
            kms_key_id=key.key_arn,
            placement=network,
        )
        # The version's name hashes the IR and the image, with the tokens they hold resolved
        # (token strings differ between syntheses; what they resolve to does not).
        fingerprint = hashlib.sha256(
            json.dumps(stack.resolve(self.compiled.ir_yaml), sort_keys=True).encode()
            + json.dumps(stack.resolve(image_identity)).encode()
        ).hexdigest()
        self.pipeline_version = f"v-{fingerprint[:16]}"
        self.ir_yaml = self.compiled.ir_yaml.replace(_IMAGE_PLACEHOLDER, component_image)
        self.service_account_name = service_account_name or f"{self.compiled.name[:56]}-runner"

        self.role = ManagedPolicyRole(
            self,
            "PodRole",
            assumed_by=iam.ServicePrincipal("pods.eks.amazonaws.com"),
            description=f"Pods of the KFP pipeline {self.compiled.name}",
        )
        assert self.role.assume_role_policy is not None
        self.role.assume_role_policy.add_statements(
            iam.PolicyStatement(
                actions=["sts:TagSession"],
                principals=[iam.ServicePrincipal("pods.eks.amazonaws.com")],
            )
        )
        self._grant_run(role, artifact_bucket, folder)
        self.pod_identity = eks.CfnPodIdentityAssociation(
            self,
            "PodIdentity",
            cluster_name=cluster.cluster_name,
            namespace=namespace,
            service_account=self.service_account_name,
            role_arn=self.role.role_arn,
        )
        self.manifest = eks_v2.KubernetesManifest(
            self,
            "Registration",
            cluster=self.cluster,
            manifest=self._manifests(api_url, component_image, schedule, schedule_input or {}),
        )
        self.manifest.node.add_dependency(self.pod_identity)

    # --- public API ---------------------------------------------------------------------------

    @property
    def pipeline_name(self) -> str:
        """The KFP pipeline name."""
        return self.compiled.name

    @property
    def pipeline_arn(self) -> str:
        """The cluster's ARN: KFP pipelines have no ARN, runs start through the cluster."""
        return self.cluster.cluster_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` reach the cluster's Kubernetes API (``eks:DescribeCluster``), from
        where KFP's API starts runs; what it may do in the cluster is an access entry's
        Kubernetes permissions, which this construct does not create."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["eks:DescribeCluster"],
            resource_arns=[self.cluster.cluster_arn],
        )

    def metric(self, metric_name: str, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Not available: Kubeflow Pipelines publishes no CloudWatch metrics of its runs."""
        raise NotImplementedError(
            f"Kubeflow Pipelines publishes no CloudWatch metrics of its runs ({metric_name}); "
            "read run states from KFP's API"
        )

    def _named_metric(self, helper: str, options: MetricOptions) -> cloudwatch.Metric:
        return self.metric(helper, **options)

    def _metric_dimensions(self) -> Mapping[str, str]:
        return {}

    # --- parts --------------------------------------------------------------------------------

    def _manifests(
        self, api_url: str, image: str, schedule: str | None, schedule_input: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        name = f"{self.compiled.name[:40]}-{self.pipeline_version}"
        labels = {
            "app.kubernetes.io/managed-by": "mlpipes",
            "mlpipes/pipeline": self.compiled.name[:63],
        }
        container_security = {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        environment = {
            "KFP_API": api_url,
            "PIPELINE_NAME": self.compiled.name,
            "PIPELINE_VERSION": self.pipeline_version,
            "PIPELINE_FILE": "/etc/mlpipes/pipeline.yaml",
            "DESCRIPTION": self.compiled.description,
            "SCHEDULE": schedule or "",
            "SCHEDULE_INPUT": json.dumps(dict(schedule_input), sort_keys=True),
            "SERVICE_ACCOUNT": self.service_account_name,
        }
        return [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": self.service_account_name,
                    "namespace": self.namespace,
                    "labels": labels,
                },
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
                "data": {"pipeline.yaml": self.ir_yaml},
            },
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
                "spec": {
                    "backoffLimit": 4,
                    "activeDeadlineSeconds": 1800,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "restartPolicy": "Never",
                            "serviceAccountName": self.service_account_name,
                            "automountServiceAccountToken": False,
                            "securityContext": {"runAsNonRoot": True, "fsGroup": 10001},
                            "containers": [
                                {
                                    "name": "register",
                                    "image": image,
                                    "command": ["python3", "-c", REGISTRATION_SCRIPT],
                                    "env": [
                                        {"name": key, "value": value}
                                        for key, value in environment.items()
                                    ],
                                    "resources": {
                                        "requests": {"cpu": "100m", "memory": "128Mi"},
                                        "limits": {"cpu": "500m", "memory": "256Mi"},
                                    },
                                    "securityContext": container_security,
                                    "volumeMounts": [
                                        {
                                            "name": "pipeline",
                                            "mountPath": "/etc/mlpipes",
                                            "readOnly": True,
                                        }
                                    ],
                                }
                            ],
                            "volumes": [{"name": "pipeline", "configMap": {"name": name}}],
                        },
                    },
                },
            },
        ]

    def _grant_run(self, job_role: iam.IRole, bucket: s3.IBucket, folder: str) -> None:
        stack = Stack.of(self)
        policy = self.role.managed_policy
        policy.add_statements(
            iam.PolicyStatement(
                sid="PassJobRole",
                actions=["iam:PassRole"],
                resources=[job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        grants: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        groups: set[str] = set()
        endpoints: set[str] = set()
        for task in self.compiled.tasks:
            request = task.spec.get("request") or {}
            for resource_type, actions in _KIND_PERMISSIONS.get(task.kind, ()):
                name = _name_of(task.kind, request)
                grants.setdefault((resource_type, actions), set()).add(_prefix_pattern(name))
            if task.kind == "register_model":
                groups.add(str(request["ModelPackageGroupName"]))
            if task.kind == "endpoint":
                endpoints.add(_prefix_pattern(request["Endpoint"]["EndpointName"]))
        for (resource_type, actions), patterns in sorted(grants.items()):
            arns = [
                stack.format_arn(service="sagemaker", resource=resource_type, resource_name=p)
                for p in sorted(patterns)
            ]
            policy.add_statements(iam.PolicyStatement(actions=list(actions), resources=arns))
            for arn in arns:
                acknowledge_wildcard(
                    policy,
                    arn,
                    f"each run names its {resource_type} '<step slug>-<run token>', where the "
                    "run token comes from the KFP run id: only the fixed start can be named",
                )
        if groups:
            arns = [
                stack.format_arn(
                    service="sagemaker", resource="model-package", resource_name=f"{name}/*"
                )
                for group in sorted(groups)
                for name in sorted({group, group.lower()})
            ]
            policy.add_statements(
                iam.PolicyStatement(
                    actions=["sagemaker:AddTags", "sagemaker:CreateModelPackage"], resources=arns
                )
            )
            for arn in arns:
                acknowledge_wildcard(
                    policy,
                    arn,
                    "a model package version's ARN ends with the number SageMaker assigns at "
                    "registration; the wildcard stays inside one model package group",
                )
        if endpoints:
            arns = [
                stack.format_arn(service="sagemaker", resource="endpoint", resource_name=p)
                for p in sorted(endpoints)
            ]
            policy.add_statements(
                iam.PolicyStatement(
                    actions=[
                        "sagemaker:AddTags",
                        "sagemaker:CreateEndpoint",
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:UpdateEndpoint",
                    ],
                    resources=arns,
                )
            )
            for arn in arns:
                if "*" in arn:
                    acknowledge_wildcard(
                        policy,
                        arn,
                        "the endpoint is named with a pipeline parameter, known only at run time",
                    )
        if any(
            "KmsKeyId" in (t.spec.get("request") or {}).get("EndpointConfig", {})
            for t in self.compiled.tasks
        ):
            # CreateEndpoint and UpdateEndpoint create grants on the configuration's key for
            # the endpoint's storage volumes, with the caller's permissions.
            policy.add_statements(
                iam.PolicyStatement(
                    sid="EncryptEndpointStorage",
                    actions=["kms:CreateGrant"],
                    resources=[self.encryption_key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        reports = bucket.arn_for_objects(f"{folder}*")
        policy.add_statements(
            iam.PolicyStatement(sid="ReadReports", actions=["s3:GetObject"], resources=[reports]),
            iam.PolicyStatement(
                sid="UsePlatformKey",
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=[self.encryption_key.key_arn],
            ),
        )
        acknowledge_wildcard(
            policy,
            reports,
            "the condition steps read the reports their runs write under per-run keys, inside "
            "this pipeline's artifact folder only",
        )


def _name_of(kind: str, request: Mapping[str, Any]) -> str:
    member = {
        "processing": "ProcessingJobName",
        "training": "TrainingJobName",
        "tuning": "HyperParameterTuningJobName",
        "create_model": "ModelName",
        "transform": "TransformJobName",
    }.get(kind)
    if member is not None:
        return str(request[member])
    return str(request["EndpointConfig"]["EndpointConfigName"])


def _prefix_pattern(name: object) -> str:
    """A name as an ARN pattern: its fixed start and ``*`` where a marker begins."""
    text = str(name)
    fixed = text.split("{{", 1)[0]
    return f"{fixed}*" if "{{" in text else text.lower()


__all__ = ["DEFAULT_API_URL", "DEFAULT_NAMESPACE", "KubeflowPipeline"]
