"""The cdk-nag findings on what ``aws_eks_v2.Cluster`` creates itself, with the reasons."""

from __future__ import annotations

from aws_cdk import CfnResource
from aws_cdk import aws_eks_v2 as eks
from constructs import IConstruct

from mlpipes_constructs.compliance import acknowledge

_BOTH = ("HIPAA.Security", "NIST.800.53.R5")
_MANAGED = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{}]"


def _child(root: IConstruct, path: str) -> IConstruct | None:
    node: IConstruct | None = root
    for name in path.split("/"):
        if node is None:
            return None
        node = node.node.try_find_child(name)
    return node


def acknowledge_cluster_findings(cluster: eks.Cluster) -> None:
    """Findings on the cluster role, Auto Mode node role and kubectl provider, which
    ``aws_eks_v2`` builds as EKS requires them."""
    acknowledge(
        cluster.role,
        [
            _MANAGED.format(name)
            for name in (
                "AmazonEKSClusterPolicy",
                "AmazonEKSComputePolicy",
                "AmazonEKSBlockStoragePolicy",
                "AmazonEKSLoadBalancingPolicy",
                "AmazonEKSNetworkingPolicy",
            )
        ],
        "EKS requires these AWS-maintained policies on the cluster role (Auto Mode compute, "
        "block storage, load balancing and networking); AWS updates them with the service",
    )
    policy = _child(cluster, "Role/DefaultPolicy")
    if policy is not None:
        acknowledge(
            policy,
            [f"{pack}-IAMNoInlinePolicy" for pack in _BOTH],
            "aws_eks_v2 creates the cluster role itself; its inline policy holds only the "
            "volume encryption grant on the platform key that Auto Mode's EBS driver needs",
        )
    node_role = _child(cluster, "ResourcenodePoolRole")
    if node_role is not None:
        acknowledge(
            node_role,
            [
                _MANAGED.format(name)
                for name in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
            ],
            "EKS Auto Mode nodes require the worker node and ECR read-only AWS-maintained "
            "policies; the node role has nothing else",
        )
    provider = _child(cluster, "KubectlProvider")
    if provider is None:
        return
    acknowledge(
        provider,
        [
            _MANAGED.format("service-role/AWSLambdaBasicExecutionRole"),
            _MANAGED.format("service-role/AWSLambdaVPCAccessExecutionRole"),
            _MANAGED.format("AmazonEC2ContainerRegistryReadOnly"),
            'AwsSolutions-IAM4[Policy::{"Fn::If":["ClusterKubectlProviderHandlerHasEcrPublic'
            '78825EA1",{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::aws:'
            'policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}]',
        ],
        "the kubectl provider's functions are built by aws_eks_v2 with the Lambda basic, VPC "
        "access and ECR Public read AWS-maintained policies, the least a function in a VPC "
        "that runs kubectl and helm needs",
    )
    acknowledge(
        provider,
        ["AwsSolutions-IAM5[Resource::<ClusterKubectlProviderHandler27822AE4.Arn>:*]"],
        "aws_eks_v2 lets the provider framework invoke every version of its kubectl handler",
    )
    acknowledge(
        provider,
        [
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-123456789012-"
            "us-east-1/*]",
        ],
        "aws_eks_v2's HelmChart grants read on the whole asset bucket; KubeflowPipelines "
        "overrides that statement in the template with s3:GetObject on the chart's object "
        "only (the run-time IAM simulation checks the template), but cdk-nag checks the "
        "policy as built, before the override",
    )
    acknowledge(
        provider,
        "AwsSolutions-L1",
        "the kubectl handler's runtime is chosen by aws_eks_v2 to match the kubectl layer it "
        "runs; it is not configurable",
    )
    acknowledge(
        provider,
        [f"{pack}-LambdaConcurrency" for pack in _BOTH],
        "the kubectl provider runs only during stack operations; reserving concurrency would "
        "fail to deploy in accounts at the minimum unreserved concurrency",
    )
    acknowledge(
        provider,
        [f"{pack}-LambdaDLQ" for pack in _BOTH],
        "the kubectl provider reports every failure to CloudFormation, which fails and rolls "
        "back the stack operation; a dead-letter queue would hold no new event",
    )
    acknowledge(
        provider,
        [f"{pack}-IAMNoInlinePolicy" for pack in _BOTH],
        "aws_eks_v2 creates the kubectl provider's roles with inline policies scoped to this "
        "cluster and the CDK asset bucket; the construct offers no managed-policy option",
    )
    acknowledge(
        provider,
        [f"{pack}-CloudWatchLogGroupEncrypted" for pack in _BOTH],
        "the kubectl provider's log groups are created by aws_eks_v2 without a key option; "
        "they hold kubectl and helm command output, not workload data",
    )


def ignore_redundant_dependencies(cluster: eks.Cluster) -> None:
    """cfn-lint W3005 on the kubectl provider's functions: aws_eks_v2 both references each
    function's role and declares a DependsOn on it, which is redundant and harmless."""
    for path in (
        "KubectlProvider/Handler/Resource",
        "KubectlProvider/Provider/framework-onEvent/Resource",
    ):
        function = _child(cluster, path)
        if isinstance(function, CfnResource):
            function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
