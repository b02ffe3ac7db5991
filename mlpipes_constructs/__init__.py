"""mlpipes: AWS CDK v2 constructs for production machine-learning pipelines."""

__version__ = "0.1.0"

__all__ = ["__version__"]
