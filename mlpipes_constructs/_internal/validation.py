"""Prop validation shared by the constructs: collect every problem, then raise once."""

from __future__ import annotations

import ipaddress
from typing import Any

from aws_cdk import Duration, Token

from mlpipes_constructs.errors import PropsValidationError


def is_unresolved(value: Any) -> bool:
    """True for CDK tokens, whose value is only known at deploy time (never validated)."""
    return bool(Token.is_unresolved(value))


class Problems:
    """Collects prop problems so a construct reports all of them in one error."""

    def __init__(self, construct_path: str) -> None:
        self._construct_path = construct_path
        self._problems: list[str] = []

    def add(self, message: str) -> None:
        self._problems.append(message)

    def has(self, prop: str) -> bool:
        """Whether a problem was already recorded for ``prop`` (so dependent checks can skip)."""
        return any(problem.startswith(f"{prop} ") for problem in self._problems)

    def require(self, condition: bool, message: str) -> None:
        if not condition:
            self.add(message)

    def conflict(self, first: str, second: str, why: str = "") -> None:
        """Record that two props were given together although only one may be."""
        detail = f": {why}" if why else ""
        self.add(f"'{first}' and '{second}' cannot be used together{detail}")

    def check_int_range(self, prop: str, value: int | None, low: int, high: int) -> None:
        if value is None or is_unresolved(value):
            return
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(f"{prop} {value!r} must be a whole number from {low} to {high}")

    def check_cidr(self, prop: str, value: str | None, *, min_prefix: int, max_prefix: int) -> None:
        if value is None or is_unresolved(value):
            return
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            self.add(f"{prop} '{value}' is not an IPv4 CIDR block ({error})")
            return
        if not min_prefix <= network.prefixlen <= max_prefix:
            self.add(
                f"{prop} '{value}' must have a prefix length from /{min_prefix} to /{max_prefix}"
            )

    def check_whole_days(self, prop: str, value: Duration | None) -> int | None:
        """The number of days in ``value``, or None (recorded as a problem) if not whole days."""
        if value is None:
            return None
        hours = value.to_hours()
        if hours % 24:
            self.add(f"{prop} of {hours} hours must be a whole number of days")
            return None
        return int(hours // 24)

    def raise_if_any(self) -> None:
        if self._problems:
            raise PropsValidationError(self._construct_path, self._problems)
