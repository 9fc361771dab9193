"""The entry point: `cdk.json`'s command synthesizes offline, with no AWS credentials."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_cdk_json_command_synthesizes_without_aws_credentials(tmp_path):
    command = shlex.split(json.loads((REPO_ROOT / "cdk.json").read_text())["app"])
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(CDK_OUTDIR=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")
    result = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "SellerToken.template.json").read_text())
    assert template["Resources"]
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [r["conclusion"] for r in report["pluginReports"]] == ["success"]
