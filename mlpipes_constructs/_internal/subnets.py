"""Selecting a VPC's subnets from a ``SubnetSelection`` given as a prop."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2


def select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> ec2.SelectedSubnets:
    """The subnets of ``vpc`` that ``selection`` names (all private ones when it is None).

    ``IVpc.select_subnets`` takes the selection's fields one by one, not the struct itself.
    """
    selection = selection or ec2.SubnetSelection()
    return vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets,
        subnet_type=selection.subnet_type,
    )
