"""CKV_AWS_88 on a launch template: the one network interface gets no public IP; generated or several
interfaces are left to the developer. Proven by Checkov."""

from __future__ import annotations

from pathlib import Path

from tfguard.engine import Engine
from tfguard.fixes import build_edits, offers_for
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result

TEMPLATE = '''resource "aws_launch_template" "nodes" {
  name_prefix   = "nodes-"
  image_id      = "ami-0123456789abcdef0"
  instance_type = "t3.micro"

  network_interfaces {
    associate_public_ip_address = true
    security_groups             = ["sg-0123456789abcdef0"]
  }
}
'''


def _failed(engine: Engine, path: Path) -> list[Finding]:
    return [f for f in engine.analyze_file(str(path)).findings
            if f.check_id == "CKV_AWS_88" and f.result is Result.FAILED]


def test_launch_template_interface_gets_no_public_ip(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text(TEMPLATE)
    engine = Engine(str(tmp_path))
    [finding] = _failed(engine, path)
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert not offer.safe and "associate_public_ip_address = false" in offer.title
    new = apply_text_edits(TEMPLATE, build_edits(offer, finding, engine))
    assert new == TEMPLATE.replace("associate_public_ip_address = true", "associate_public_ip_address = false")
    engine.set_overlay(str(path), new)
    assert _failed(engine, path) == []
    assert {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_AWS_88"} == {Result.PASSED}
    assert build_edits(offer, finding, engine) == []


def test_no_fix_for_several_interfaces(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    second = "  network_interfaces {\n    device_index = 1\n  }\n}\n"
    path.write_text(TEMPLATE[:-2] + "\n" + second)
    engine = Engine(str(tmp_path))
    [finding] = _failed(engine, path)
    assert [o for o in offers_for(finding, engine) if o.kind == "local"] == []
