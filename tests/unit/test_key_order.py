"""A finding's position never depends on the process: evaluated keys come in one order in every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tfguard.checks.entity import ordered_keys

LAMBDA = '''resource "aws_lambda_function" "f" {
  function_name = "f"
  role          = "arn:aws:iam::123456789012:role/r"
  handler       = "index.handler"
  runtime       = "python3.12"
  environment {
    variables = {
      AWS_ACCESS_KEY_ID     = "AKIAIOSFODNN7EXAMPLE"
      AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
      OTHER_SETTING         = "x"
      AWS_SESSION_TOKEN     = "token"
    }
  }
}
'''


def test_siblings_sorted_groups_kept_in_the_checks_order() -> None:
    keys = ("environment/[0]/variables/[0]/B", "environment/[0]/variables/[0]/A", "environment")
    assert ordered_keys(keys) == ("environment/[0]/variables/[0]/A", "environment/[0]/variables/[0]/B",
                                  "environment")
    assert ordered_keys(("acl", "versioning/[0]/enabled")) == ("acl", "versioning/[0]/enabled")


def test_ckv_aws_45_is_placed_on_the_same_line_whatever_the_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(LAMBDA)
    places = set()
    for seed in ("1", "2", "3", "4", "5", "6"):
        out = tmp_path / f"r{seed}.json"
        env = dict(os.environ, PYTHONHASHSEED=seed, TFGUARD_NO_DAEMON="1", TFGUARD_CACHE_DIR="")
        subprocess.run([sys.executable, "-m", "tfguard", "scan", str(tmp_path), "--format", "json", "-o", str(out)],
                       env=env, capture_output=True, timeout=300, check=False)
        (f,) = [f for f in json.loads(out.read_text())["findings"]
                if f["check_id"] == "CKV_AWS_45" and f["result"] == "FAILED"]
        places.add((f["range"]["start"]["line"], f["range"]["start"]["column"]))
    assert len(places) == 1, places
