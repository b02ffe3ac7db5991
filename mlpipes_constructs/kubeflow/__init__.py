"""Kubeflow Pipelines on Amazon EKS."""
