#!/usr/bin/env python3
"""The bundled mlpipes CDK app: `npx cdk synth` builds the stacks named in cdk.json context."""

import os

# jsii prints a large end-of-life banner for Node 20 on every run; the CLI pins a supported
# Node through package.json, so the banner is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from mlpipes_app import build_app

app = cdk.App()
build_app(app)
app.synth()
