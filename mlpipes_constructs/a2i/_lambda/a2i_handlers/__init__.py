"""Custom resource handlers of the A2I constructs; each module is one function's entry point.

Runs in AWS Lambda on the Python runtime's own boto3, so no bundling is needed.
"""
