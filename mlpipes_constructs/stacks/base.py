"""A stack that synthesizes without credentials or context look-ups."""

from __future__ import annotations

from typing import Any

from aws_cdk import Fn, Stack
from constructs import Construct


class MlpipesStack(Stack):
    """A :class:`aws_cdk.Stack` whose availability zones are resolved at deploy time.

    A stack with an explicit account and region normally looks its availability zones up
    through the CDK CLI, which needs AWS credentials. This one uses the first
    ``availability_zone_count`` zones of ``Fn::GetAZs`` instead, so it synthesizes anywhere and
    deploys to whichever zones the account has.

    Args:
        availability_zone_count: how many zones constructs in the stack may use. Default: 2.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct | None = None,
        construct_id: str | None = None,
        *,
        availability_zone_count: int = 2,
        **kwargs: Any,
    ) -> None:
        self._availability_zone_count = availability_zone_count
        super().__init__(scope, construct_id, **kwargs)

    @property
    def availability_zones(self) -> list[str]:
        return [Fn.select(index, Fn.get_azs()) for index in range(self._availability_zone_count)]
