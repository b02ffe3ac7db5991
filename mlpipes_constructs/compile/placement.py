"""Where a pipeline's SageMaker jobs, models and endpoints run: subnets and security groups."""

from __future__ import annotations

from dataclasses import dataclass

from mlpipes_constructs.compile.errors import CompileError


@dataclass(frozen=True)
class JobPlacement:
    """The VPC placement of a pipeline's jobs and of the models it creates.

    Every orchestrator writes it the same way: ``VpcConfig`` (``NetworkConfig.VpcConfig`` for
    processing jobs) with these subnets and security groups.

    Attributes:
        subnet_ids: private subnets the jobs' network interfaces are placed in (at least one).
        security_group_ids: security groups of those interfaces (1 to 5).
        enable_inter_container_traffic_encryption: encrypt traffic between the instances of
            a distributed processing, training or tuning job. Default: True.

    Raises:
        CompileError: no subnet, no security group, or more than SageMaker allows.
    """

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    enable_inter_container_traffic_encryption: bool = True

    def __post_init__(self) -> None:
        # Tuples, so a placement is hashable and cannot change after it was checked.
        object.__setattr__(self, "subnet_ids", tuple(self.subnet_ids))
        object.__setattr__(self, "security_group_ids", tuple(self.security_group_ids))
        problems = []
        if not 1 <= len(self.subnet_ids) <= MAX_SUBNETS:
            problems.append(
                f"subnet_ids {list(self.subnet_ids)} must name 1 to {MAX_SUBNETS} subnets: "
                "SageMaker places each job's network interfaces in them"
            )
        if not 1 <= len(self.security_group_ids) <= MAX_SECURITY_GROUPS:
            problems.append(
                f"security_group_ids {list(self.security_group_ids)} must name 1 to "
                f"{MAX_SECURITY_GROUPS} security groups"
            )
        if problems:
            raise CompileError("; ".join(problems), field="placement")

    def vpc_config(self) -> dict[str, list[str]]:
        """The ``VpcConfig`` of a SageMaker request."""
        return {
            "SecurityGroupIds": list(self.security_group_ids),
            "Subnets": list(self.subnet_ids),
        }


#: SageMaker's limits on a VpcConfig (CreateTrainingJob, CreateModel, CreateProcessingJob).
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5
