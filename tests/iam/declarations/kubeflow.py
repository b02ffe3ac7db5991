"""Run-time calls of the Kubeflow stack: the EKS cluster role, the kubectl provider, the Pod
Identity roles of KFP's service accounts, the credentials job and the reference pipeline's
runs, and the SageMaker job role of the reference pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mlpipes_constructs.compile.human_review import human_loop_prefix
from tests.iam.calls import OTHER_ACCOUNT, Call, Declaration, Expect, RoleCalls
from tests.iam.cfn import ACCOUNT, REGION
from tests.iam.declarations._common import (
    ARN,
    DOC_SAGEMAKER_DEPUTY,
    OTHER_BUCKET,
    OTHER_KEY,
    JobScope,
    assume_role_calls,
    flow_definition_arn,
    foundation,
    human_review_calls,
    job_calls,
    mlflow_secret_arn,
    pass_role_calls,
    tracking_calls,
)
from tests.iam.model import AppModel, RoleSelector, Use

DOC_CLUSTER_ROLE = "https://docs.aws.amazon.com/eks/latest/userguide/auto-cluster-iam-role.html"
DOC_EBS_KMS = "https://docs.aws.amazon.com/eks/latest/userguide/auto-kms.html"
DOC_POD_IDENTITY = "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html"
DOC_KFP_S3 = (
    "https://www.kubeflow.org/docs/components/pipelines/operator-guides/configure-object-store/"
)
DOC_SECRETS = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html"
DOC_LAMBDA_ROLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"
DOC_KUBECTL = "https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_eks_v2-readme.html"
DOC_SAGEMAKER_SAR = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerai.html"
)
DOC_SAGEMAKER_TAGS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/security_iam_id-based-policy-examples.html"
)
DOC_PROVIDER = (
    "https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html"
)

STACK = "kubeflow"
PREFIX = "kfp"
CLUSTER_ROLE = RoleSelector("eks.amazonaws.com", Use("AWS::EKS::Cluster", "RoleArn"))
KUBECTL_HANDLER = RoleSelector(
    "lambda.amazonaws.com",
    Use("AWS::Lambda::Function", "Role"),
    mentions='"Handler": "index.handler"',
)
PROVIDER_FRAMEWORK = RoleSelector(
    "lambda.amazonaws.com",
    Use("AWS::Lambda::Function", "Role"),
    mentions='"Handler": "framework.onEvent"',
)


def _pod_role(service_account: str) -> RoleSelector:
    return RoleSelector(
        "pods.eks.amazonaws.com",
        Use("AWS::EKS::PodIdentityAssociation", "RoleArn"),
        mentions=f'"ServiceAccount": "{service_account}"',
    )


def _cluster_arn(model: AppModel) -> str:
    logical_id, _ = model.only(STACK, "AWS::EKS::Cluster")
    return model.arn(STACK, logical_id)


def _pod_identity_trust(model: AppModel, role_arn: str) -> Iterator[Call]:
    cluster = _cluster_arn(model)
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": cluster}
    for action in ("sts:AssumeRole", "sts:TagSession"):
        call = Call(
            f"Pod Identity: {action}",
            action,
            role_arn,
            DOC_POD_IDENTITY,
            context=context,
            principal="pods.eks.amazonaws.com",
        )
        yield call
    yield Call(
        "Pod Identity of another cluster assumes the role",
        "sts:AssumeRole",
        role_arn,
        DOC_POD_IDENTITY,
        context={"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"{cluster}-other"},
        expect=Expect.DENIED,
        principal="pods.eks.amazonaws.com",
    )


def _artifact_calls(model: AppModel, *, write: bool) -> Iterator[Call]:
    shared = foundation(model)
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    artifact = f"{shared.bucket_arn}/{PREFIX}/artifacts/run-1/train/model.tar.gz"
    yield Call("read an artifact", "s3:GetObject", artifact, DOC_KFP_S3)
    yield Call(
        "list the KFP prefix",
        "s3:ListBucket",
        shared.bucket_arn,
        DOC_KFP_S3,
        context={"s3:prefix": f"{PREFIX}/artifacts/"},
    )
    yield Call("find the bucket's region", "s3:GetBucketLocation", shared.bucket_arn, DOC_KFP_S3)
    yield Call("decrypt an artifact", "kms:Decrypt", shared.key_arn, DOC_KFP_S3, context=via_s3)
    write_expect = Expect.ALLOWED if write else Expect.DENIED
    yield Call("write an artifact", "s3:PutObject", artifact, DOC_KFP_S3, expect=write_expect)
    yield Call(
        "encrypt an artifact",
        "kms:GenerateDataKey",
        shared.key_arn,
        DOC_KFP_S3,
        context=via_s3,
        expect=write_expect,
    )
    yield Call(
        "read outside the KFP prefix",
        "s3:GetObject",
        f"{shared.bucket_arn}/data/reviews/train.csv",
        DOC_KFP_S3,
        expect=Expect.DENIED,
    )
    yield Call(
        "list outside the KFP prefix",
        "s3:ListBucket",
        shared.bucket_arn,
        DOC_KFP_S3,
        context={"s3:prefix": "mlflow/"},
        expect=Expect.DENIED,
    )
    yield Call(
        "read another bucket",
        "s3:GetObject",
        f"{OTHER_BUCKET}/{PREFIX}/x",
        DOC_KFP_S3,
        expect=Expect.DENIED,
    )
    yield Call(
        "use another key",
        "kms:Decrypt",
        OTHER_KEY,
        DOC_KFP_S3,
        context=via_s3,
        expect=Expect.DENIED,
    )


def _kfp_role(service_account: str, *, write: bool) -> Callable[[AppModel, str], Iterator[Call]]:
    def calls(model: AppModel, stack: str) -> Iterator[Call]:
        yield from _artifact_calls(model, write=write)
        yield from _pod_identity_trust(model, model.role(stack, _pod_role(service_account)).arn)

    return calls


def _credentials_sync(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    secret_id, _ = model.only(stack, "AWS::SecretsManager::Secret")
    secret = model.ref(stack, secret_id)
    yield Call("read the database password", "secretsmanager:GetSecretValue", secret, DOC_SECRETS)
    via = {
        "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
        "kms:CallerAccount": ACCOUNT,
    }
    yield Call("decrypt the password", "kms:Decrypt", shared.key_arn, DOC_SECRETS, context=via)
    yield Call(
        "decrypt with the key directly",
        "kms:Decrypt",
        shared.key_arn,
        DOC_SECRETS,
        context={"kms:CallerAccount": ACCOUNT},
        expect=Expect.DENIED,
    )
    yield Call(
        "read another secret",
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:{ARN}:secret:other-AbCdEf",
        DOC_SECRETS,
        expect=Expect.DENIED,
    )
    yield Call(
        "read the artifacts",
        "s3:GetObject",
        f"{shared.bucket_arn}/{PREFIX}/artifacts/x",
        DOC_KFP_S3,
        expect=Expect.DENIED,
    )
    role = model.role(stack, _pod_role("mlpipes-db-credentials")).arn
    yield from _pod_identity_trust(model, role)


#: What the reference pipeline's tasks name their jobs: ``<slug>-<run token>``, the token being
#: 20 hex digits of the SHA-256 of the KFP run id (``_components.run_step``).
KFP_RUN_TOKEN = "0a1b2c3d4e5f60718293"
PIPELINE_SERVICE_ACCOUNT = "mlpipes-reference-pipeline"
PIPELINE_FOLDER = "pipelines/mlpipes-review-classifier/"
MODEL_PACKAGE_GROUP = "mlpipes-review-classifier-kfp"
JOB_ROLE = RoleSelector("sagemaker.amazonaws.com")
#: (API noun, SageMaker resource type, the slugs of the reference pipeline's steps of it).
_JOBS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "ProcessingJob",
        "processing-job",
        ("mlpipes-review-c-preprocess", "mlpipes-review-c-evaluate"),
    ),
    ("TrainingJob", "training-job", ("mlpipes-review-c-train",)),
    ("TransformJob", "transform-job", ("mlpipes-review-c-batchtransform",)),
)


def _sagemaker(resource_type: str, name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:{resource_type}/{name}"


def _pipeline_tasks(model: AppModel, stack: str) -> Iterator[Call]:
    """What ``run_step`` calls for the reference pipeline's steps, and KFP's launcher in the
    same pods (the pipeline root under ``kfp/``)."""
    shared = foundation(model)
    loop_prefix = human_loop_prefix("mlpipes-review-c", "Review")
    yield from human_review_calls(shared, flow_definition_arn(model), loop_prefix)
    for noun, resource_type, slugs in _JOBS:
        for slug in slugs:
            job = _sagemaker(resource_type, f"{slug}-{KFP_RUN_TOKEN}")
            yield Call(f"Create{noun} {slug}", f"sagemaker:Create{noun}", job, DOC_SAGEMAKER_SAR)
            yield Call(f"tag {slug} on creation", "sagemaker:AddTags", job, DOC_SAGEMAKER_TAGS)
            yield Call(
                f"Describe{noun} {slug}", f"sagemaker:Describe{noun}", job, DOC_SAGEMAKER_SAR
            )
            yield Call(f"Stop{noun} {slug}", f"sagemaker:Stop{noun}", job, DOC_SAGEMAKER_SAR)
        yield Call(
            f"Create{noun} named outside the pipeline's steps",
            f"sagemaker:Create{noun}",
            _sagemaker(resource_type, f"other-pipeline-{KFP_RUN_TOKEN}"),
            DOC_SAGEMAKER_SAR,
            expect=Expect.DENIED,
        )
        yield Call(
            f"Describe{noun} of another account",
            f"sagemaker:Describe{noun}",
            _sagemaker(resource_type, f"{slugs[0]}-{KFP_RUN_TOKEN}", OTHER_ACCOUNT),
            DOC_SAGEMAKER_SAR,
            expect=Expect.DENIED,
        )
    model_arn = _sagemaker("model", f"mlpipes-review-c-createmodel-{KFP_RUN_TOKEN}")
    yield Call("CreateModel", "sagemaker:CreateModel", model_arn, DOC_SAGEMAKER_SAR)
    yield Call("tag the model", "sagemaker:AddTags", model_arn, DOC_SAGEMAKER_TAGS)
    yield Call(
        "CreateModel outside the pipeline's steps",
        "sagemaker:CreateModel",
        _sagemaker("model", f"other-model-{KFP_RUN_TOKEN}"),
        DOC_SAGEMAKER_SAR,
        expect=Expect.DENIED,
    )
    # AWS authorizes CreateModelPackage on the new version.
    version = _sagemaker("model-package", f"{MODEL_PACKAGE_GROUP}/1")
    yield Call(
        "register a model version", "sagemaker:CreateModelPackage", version, DOC_SAGEMAKER_SAR
    )
    yield Call(
        "register in another group",
        "sagemaker:CreateModelPackage",
        _sagemaker("model-package", "mlpipes-review-classifier-sfn/1"),
        DOC_SAGEMAKER_SAR,
        expect=Expect.DENIED,
    )
    yield Call(
        "delete a model version",
        "sagemaker:DeleteModelPackage",
        version,
        DOC_SAGEMAKER_SAR,
        expect=Expect.DENIED,
    )
    yield Call(
        "create an endpoint, which the reference pipeline has not",
        "sagemaker:CreateEndpoint",
        _sagemaker("endpoint", "mlpipes-review-classifier"),
        DOC_SAGEMAKER_SAR,
        expect=Expect.DENIED,
    )
    yield from pass_role_calls(model.role(stack, JOB_ROLE).arn, DOC_SAGEMAKER_SAR)
    report = (
        f"{shared.bucket_arn}/{PIPELINE_FOLDER}{KFP_RUN_TOKEN}/Evaluate/output/evaluation/"
        "evaluation.json"
    )
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    read = Call("read the evaluation report", "s3:GetObject", report, DOC_KFP_S3)
    yield read
    yield Call("decrypt the report", "kms:Decrypt", shared.key_arn, DOC_KFP_S3, context=via_s3)
    yield read.denied(
        "read another pipeline's report",
        resource=f"{shared.bucket_arn}/pipelines/other-pipeline/{KFP_RUN_TOKEN}/evaluation.json",
    )
    yield Call(
        "overwrite the report",
        "s3:PutObject",
        report,
        DOC_KFP_S3,
        expect=Expect.DENIED,
    )
    yield from _artifact_calls(model, write=True)
    yield from _pod_identity_trust(
        model, model.role(stack, _pod_role(PIPELINE_SERVICE_ACCOUNT)).arn
    )


def _job_security_groups(model: AppModel, stack: str) -> tuple[str, ...]:
    logical_id, _ = model.only(
        stack,
        "AWS::EC2::SecurityGroup",
        lambda p: "SageMaker jobs" in str(p.get("GroupDescription", "")),
    )
    return (model.ref(stack, logical_id),)


def _job_role(model: AppModel, stack: str) -> Iterator[Call]:
    yield from tracking_calls(mlflow_secret_arn(model))
    yield from job_calls(
        model,
        JobScope(
            read_prefix="data/reviews/part-0000.csv",
            write_prefix=f"{PIPELINE_FOLDER}{KFP_RUN_TOKEN}/train/model.tar.gz",
            outside_prefix="private/salaries.csv",
            job_name=f"mlpipes-review-c-preprocess-{KFP_RUN_TOKEN}",
            security_groups=_job_security_groups(model, stack),
        ),
    )
    role = model.role(stack, JOB_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def _cluster_role(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    grant = {"kms:GrantIsForAWSResource": "true", "kms:CallerAccount": ACCOUNT}
    yield Call(
        "grant EBS the key for a volume",
        "kms:CreateGrant",
        shared.key_arn,
        DOC_EBS_KMS,
        context=grant,
    )
    yield Call(
        "grant the key to a non-AWS principal",
        "kms:CreateGrant",
        shared.key_arn,
        DOC_EBS_KMS,
        context={"kms:GrantIsForAWSResource": "false", "kms:CallerAccount": ACCOUNT},
        expect=Expect.DENIED,
    )
    for action in ("kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:DescribeKey"):
        yield Call(f"encrypted volumes: {action}", action, shared.key_arn, DOC_EBS_KMS)
    yield Call("use another key", "kms:Decrypt", OTHER_KEY, DOC_EBS_KMS, expect=Expect.DENIED)
    role = model.role(stack, CLUSTER_ROLE).arn
    for action in ("sts:AssumeRole", "sts:TagSession"):
        yield Call(
            f"eks.amazonaws.com: {action}",
            action,
            role,
            DOC_CLUSTER_ROLE,
            principal="eks.amazonaws.com",
        )


def _kubectl_handler(model: AppModel, stack: str) -> Iterator[Call]:
    cluster = _cluster_arn(model)
    assets = f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    yield Call("find the cluster endpoint", "eks:DescribeCluster", cluster, DOC_KUBECTL)
    yield Call(
        "describe another cluster",
        "eks:DescribeCluster",
        f"arn:aws:eks:{ARN}:cluster/other",
        DOC_KUBECTL,
        expect=Expect.DENIED,
    )
    (chart,) = [props for _, props in model.resources(stack, "Custom::AWSCDK-EKS-HelmChart")]
    chart_object = str(chart["ChartAssetURL"]).replace("s3://", "arn:aws:s3:::", 1)
    yield Call("download the chart asset", "s3:GetObject", chart_object, DOC_KUBECTL)
    yield Call(
        "read another asset of the account",
        "s3:GetObject",
        f"{assets}/another-asset.zip",
        DOC_KUBECTL,
        expect=Expect.DENIED,
    )
    yield Call(
        "write to the asset bucket",
        "s3:PutObject",
        chart_object,
        DOC_KUBECTL,
        expect=Expect.DENIED,
    )
    # Logs and network interfaces come from AWS managed policies the simulation cannot read.
    yield Call(
        "lambda.amazonaws.com assumes the role",
        "sts:AssumeRole",
        model.role(stack, KUBECTL_HANDLER).arn,
        DOC_LAMBDA_ROLE,
        principal="lambda.amazonaws.com",
    )


def _provider_framework(model: AppModel, stack: str) -> Iterator[Call]:
    handler = next(
        model.arn(stack, logical_id)
        for logical_id, props in model.resources(stack, "AWS::Lambda::Function")
        if props.get("Handler") == "index.handler"
    )
    yield Call("invoke the kubectl handler", "lambda:InvokeFunction", handler, DOC_PROVIDER)
    yield Call(
        "invoke another function",
        "lambda:InvokeFunction",
        f"arn:aws:lambda:{ARN}:function:other",
        DOC_PROVIDER,
        expect=Expect.DENIED,
    )
    yield Call(
        "lambda.amazonaws.com assumes the role",
        "sts:AssumeRole",
        model.role(stack, PROVIDER_FRAMEWORK).arn,
        DOC_LAMBDA_ROLE,
        principal="lambda.amazonaws.com",
    )


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls(STACK, "EKS cluster role", CLUSTER_ROLE, _cluster_role),
    RoleCalls(STACK, "kubectl handler", KUBECTL_HANDLER, _kubectl_handler),
    RoleCalls(STACK, "kubectl provider framework", PROVIDER_FRAMEWORK, _provider_framework),
    RoleCalls(
        STACK, "KFP API server", _pod_role("ml-pipeline"), _kfp_role("ml-pipeline", write=True)
    ),
    RoleCalls(
        STACK,
        "KFP pipeline runner",
        _pod_role("pipeline-runner"),
        _kfp_role("pipeline-runner", write=True),
    ),
    RoleCalls(
        STACK, "KFP UI", _pod_role("ml-pipeline-ui"), _kfp_role("ml-pipeline-ui", write=False)
    ),
    RoleCalls(
        STACK,
        "reference pipeline runs",
        _pod_role(PIPELINE_SERVICE_ACCOUNT),
        _pipeline_tasks,
    ),
    RoleCalls(STACK, "reference pipeline job role", JOB_ROLE, _job_role),
    RoleCalls(
        STACK,
        "database credentials job",
        _pod_role("mlpipes-db-credentials"),
        _credentials_sync,
    ),
)
