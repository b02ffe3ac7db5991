"""A pipeline spec compiled to Kubeflow Pipelines and registered with a cluster's KFP."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Unpack, cast

from aws_cdk import Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_eks_v2 as eks_v2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compile.naming import default_prefix
from mlpipes_constructs.compliance import acknowledge_wildcard
from mlpipes_constructs.core._defaults import (
    DEFAULT_ARTIFACT_PREFIX,
    artifact_folder,
    job_role_of,
    require_encryption_key,
)
from mlpipes_constructs.core._human_review import (
    acknowledge_human_review_wildcards,
    flow_definition_problems,
    grant_human_reviews,
)
from mlpipes_constructs.core._job_code import JobCode
from mlpipes_constructs.core._schedule import schedule_input_problems, spec_parameter_types
from mlpipes_constructs.core.metrics import MetricOptions
from mlpipes_constructs.core.pipeline_base import MlPipelineBase
from mlpipes_constructs.core.placement import JobPlacementOptions, resolve_placement
from mlpipes_constructs.core.tracking import MlflowTracking
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.kubeflow._pod_identity import pipeline_service_account
from mlpipes_constructs.kubeflow._registration import SCRIPT as REGISTRATION_SCRIPT
from mlpipes_constructs.kubeflow.compiler import CompiledKfpPipeline, compile_kfp_pipeline
from mlpipes_constructs.spec import Pipeline

if TYPE_CHECKING:
    from mlpipes_constructs.kubeflow.pipelines_install import KubeflowPipelines

DEFAULT_NAMESPACE = "kubeflow"
DEFAULT_API_URL = "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
#: The packaged Dockerfile of the default component image.
COMPONENT_IMAGE_DIRECTORY = Path(__file__).resolve().parent / "component_image"
#: What the IR is compiled with before the image is known (the image may be a deploy-time
#: value); the version name hashes this IR and the image.
_IMAGE_PLACEHOLDER = "mlpipes-component-image"
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
#: A string token as CDK encodes it in a string.
_STRING_TOKEN = re.compile(r"\$\{Token\[[^\]]*\]\}")
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

    The runs' pods (KFP's driver and launcher, and the tasks) run as the service account
    :attr:`service_account_name` in ``namespace``, bound to KFP's ``pipeline-runner`` Role,
    whose EKS Pod Identity role (:attr:`role`) may only: start, describe and stop the kinds of
    SageMaker jobs the spec has, named ``<slug>-*`` for its steps; register versions in its
    model package groups; create its endpoint configurations and endpoints; pass the job role
    to SageMaker; read the reports under the pipeline's artifact folder and use the key; and,
    with ``kfp``, read and write KFP's pipeline root, where the launcher keeps each run's
    artifacts (:meth:`KubeflowPipelines.grant_pipeline_root`). The account is made the way
    :meth:`KubeflowPipelines.add_pipeline_service_account` makes one. Runs started by hand
    must name this service account (recurring runs do). A human review step's task starts an
    Amazon A2I human loop and waits for the decision; the role gets, from each of
    ``flow_definitions``, StartHumanLoop on the flow definition, DescribeHumanLoop and
    StopHumanLoop on the loops whose names start with the step's prefix
    (``<job name prefix>-<step>``, 26 characters at most), and reading the reviewers' answers.

    KFP publishes no CloudWatch metrics of its runs, so ``metric`` and the ``metric_*``
    helpers raise ``NotImplementedError``; read run states from KFP's API.

    Args:
        kfp: the :class:`KubeflowPipelines` install to run on: its cluster, namespace and API,
            and its pipeline root. Default: none; then ``cluster`` is required.
        cluster: the EKS cluster of a KFP installed otherwise (the Pod Identity agent on, and
            KFP's ``pipeline-runner`` Role in ``namespace``); grant :attr:`role` that KFP's
            artifact store yourself. Default: ``kfp``'s cluster; one of the two is required.
        pipeline: the spec to compile.
        job_role: the role the SageMaker jobs run as.
        artifact_bucket: where outputs go.
        encryption_key: the key of job outputs and volumes (and reading reports).
            Default: ``artifact_bucket``'s KMS key; required when there is none.
        artifact_prefix: bucket folder outputs go under (``<artifact_prefix><spec name>/``).
            Default: ``"pipelines/"``.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        namespace: KFP's namespace, where the tasks' pods and the registration Job run (not
            with ``kfp``). Default: ``kfp``'s, or ``"kubeflow"``.
        api_url: KFP's API (not with ``kfp``). Default: ``kfp``'s
            :attr:`~KubeflowPipelines.api_url`, or
            ``http://ml-pipeline.kubeflow.svc.cluster.local:8888``.
        component_image: the image of the tasks and the registration Job (Python 3, boto3,
            kfp). Default: built from the packaged Dockerfile (``component_image/``) as a
            CDK image asset when the stack is deployed (Docker is needed then, not at synth).
        service_account_name: the tasks' service account. Default: ``<pipeline name>-runner``.
        schedule: a KFP cron expression (six fields, seconds first, e.g. ``"0 0 3 * * *"``)
            for a recurring run. Default: no recurring run.
        schedule_input: parameter values of the recurring runs, checked against the spec's
            parameters. Default: ``{}`` (the defaults).
        flow_definitions: the A2I flow definitions the spec's human review steps start loops
            with (each literal flow definition ARN of a step must be one of them). Default:
            none; required when the pipeline has human review steps.
        tracking: the MLflow server the spec's jobs log to, with the KFP run id as their run's
            execution id; the job role may read its credentials secret and the jobs' security
            groups may reach it. Default: no tracking.
    """

    METRIC_NAMESPACE: ClassVar[str] = "mlpipes/KubeflowPipelines"
    METRIC_NAMES: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        kfp: KubeflowPipelines | None = None,
        cluster: eks_v2.ICluster | eks_v2.Cluster | None = None,
        pipeline: Pipeline,
        job_role: SageMakerJobRole | iam.IRole,
        artifact_bucket: s3.IBucket,
        encryption_key: kms.IKey | None = None,
        artifact_prefix: str | None = None,
        placement: JobPlacementOptions | None = None,
        namespace: str | None = None,
        api_url: str | None = None,
        component_image: str | None = None,
        service_account_name: str | None = None,
        schedule: str | None = None,
        schedule_input: Mapping[str, Any] | None = None,
        flow_definitions: Sequence[IFlowDefinition] = (),
        tracking: MlflowTracking | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if not isinstance(pipeline, Pipeline):
            problems.add(
                f"pipeline {type(pipeline).__name__!r} is not a spec "
                "(mlpipes_constructs.spec.Pipeline)"
            )
        key = require_encryption_key(problems, encryption_key, artifact_bucket)
        if kfp is not None:
            for prop, value in (
                ("cluster", cluster),
                ("namespace", namespace),
                ("api_url", api_url),
            ):
                if value is not None:
                    problems.conflict("kfp", prop, f"the install has its own {prop}")
            cluster = kfp.cluster.cluster_ref
            namespace, api_url = kfp.namespace, kfp.api_url
        elif cluster is None:
            problems.add("one of kfp (a KubeflowPipelines install) or cluster is required")
        namespace = namespace if namespace is not None else DEFAULT_NAMESPACE
        api_url = api_url if api_url is not None else DEFAULT_API_URL
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
        if isinstance(pipeline, Pipeline):
            flow_definition_problems(problems, pipeline, flow_definitions)
        problems.raise_if_any()
        assert key is not None and cluster is not None

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
        self.security_groups: list[ec2.ISecurityGroup] = []
        if placement is not None:
            resolved = resolve_placement(
                self, placement, description="Jobs of an mlpipes KFP pipeline"
            )
            self.security_groups = list(resolved.security_groups)
            network = resolved.placement
        if tracking is not None:
            tracking.grant_jobs(role, self.security_groups)
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
            tracking=tracking.compile_options() if tracking is not None else None,
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

        self.role, self.service_account_manifest = pipeline_service_account(
            self,
            "PodRole",
            cluster=self.cluster,
            namespace=namespace,
            name=self.service_account_name,
            description=f"Pods of the KFP pipeline {self.compiled.name}",
        )
        self.pod_identity = cast(
            eks_v2.CfnPodIdentityAssociation, self.node.find_child("PodRoleAssociation")
        )
        self._grant_run(role, artifact_bucket, folder)
        self.human_review_grant = self._grant_human_reviews(flow_definitions)
        self.kfp = kfp
        if kfp is not None:
            kfp.grant_pipeline_root(self.role)
            self.service_account_manifest.node.add_dependency(kfp.namespace_manifest)
        self.manifest = eks_v2.KubernetesManifest(
            self,
            "Registration",
            cluster=self.cluster,
            manifest=self._manifests(api_url, component_image, schedule, schedule_input or {}),
        )
        self.manifest.node.add_dependency(self.pod_identity, self.service_account_manifest)
        if kfp is not None:
            # The Job calls KFP's API, which the chart installs.
            self.manifest.node.add_dependency(kfp.chart)

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
        stored, values = _stored_ir(self.ir_yaml)
        file_name = "pipeline.yaml.gz" if values is not None else "pipeline.yaml"
        data = {"binaryData" if values is not None else "data": {file_name: stored}}
        environment = {
            "KFP_API": api_url,
            "PIPELINE_NAME": self.compiled.name,
            "PIPELINE_VERSION": self.pipeline_version,
            "PIPELINE_FILE": f"/etc/mlpipes/{file_name}",
            "DESCRIPTION": self.compiled.description,
            "SCHEDULE": schedule or "",
            "SCHEDULE_INPUT": json.dumps(dict(schedule_input), sort_keys=True),
            "SERVICE_ACCOUNT": self.service_account_name,
            **(values or {}),
        }
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
                **data,
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

    def _grant_human_reviews(self, flow_definitions: Sequence[IFlowDefinition]) -> iam.Grant | None:
        # The compiler names the loops after its default job name prefix.
        job_prefix = default_prefix(self.spec.name)
        grant = grant_human_reviews(self.role, self.spec, flow_definitions, job_prefix=job_prefix)
        acknowledge_human_review_wildcards(self.role.managed_policy, grant)
        return grant

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


def _stored_ir(ir_yaml: str) -> tuple[str, dict[str, str] | None]:
    """The IR as the registration's ConfigMap stores it: gzip, base64-encoded, with each
    deploy-time value (a CDK token) as ``__MLPIPES_VALUE_<n>__`` and the values, as the Job's
    environment variables ``MLPIPES_VALUE_<n>``.

    The IR repeats the component's source in every task's executor, so it compresses about
    tenfold: the manifest, sent to the kubectl provider twice on an update (old and new
    properties), stays far below its 262,144-byte payload limit. When a value is encoded in a
    way this cannot see, the IR is stored as text (and the values ``None``).
    """
    values: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        token = match.group(0)
        name = next((k for k, v in values.items() if v == token), f"MLPIPES_VALUE_{len(values)}")
        values[name] = token
        return f"__{name}__"

    static = _STRING_TOKEN.sub(placeholder, ir_yaml)
    if Token.is_unresolved(static):
        return ir_yaml, None
    packed = gzip.compress(static.encode(), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode(), values


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
