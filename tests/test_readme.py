"""The README's quick start runs as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

README = Path(__file__).resolve().parent.parent / "README.md"


def _quickstart_code() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- quickstart -->\s*```python\n(.*?)```\s*<!-- /quickstart -->", text, re.S
    )
    assert match, "README has no quick start block"
    return match.group(1)


def test_quickstart_subclass_synthesizes_with_its_extra_permission(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    namespace: dict[str, object] = {}
    exec(compile(_quickstart_code(), "README.md", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, cdk.App)
    foundation = app.node.find_child("Platform")
    template_path = Path(app.outdir) / "Platform.template.json"
    template = Template.from_json(json.loads(template_path.read_text(encoding="utf-8")))
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Action": "glue:GetTable"})])
            }
        },
    )
    assert foundation.node.find_child("FeatureJobRole") is not None


def test_spec_example_runs_and_reports_the_bad_name(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- spec-example -->\s*```python\n(.*?)```\s*<!-- /spec-example -->", text, re.S
    )
    assert match, "README has no spec example"
    exec(compile(match.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("['Preprocess', 'Train', 'Evaluate', 'CheckAccuracy'")
    assert "bad name!" in printed[1]
