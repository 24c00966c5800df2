"""tfguard.reach, tfguard.calls and tfguard.explain on their own (issue #18): exposure through other
blocks, who calls a module and which roots reach it, where a value came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tfguard.calls import CallIndex
from tfguard.explain import Explainer
from tfguard.model import Finding, Result, Span
from tfguard.reach import Resources, reach
from tfguard.wiring import make_engine

OPEN_22: dict[str, Any] = {"ingress": [{"from_port": [22], "to_port": [22], "protocol": ["tcp"],
                                        "cidr_blocks": [["0.0.0.0/0"]]}]}
INSTANCE: dict[str, Any] = {"vpc_security_group_ids": [["${aws_security_group.web.id}"]]}


def test_an_instance_behind_a_world_open_group_is_reachable_on_its_admin_port() -> None:
    got = reach("aws_instance", "i", INSTANCE, [("aws_security_group", "web", OPEN_22)])
    assert got is not None and got.admin_port == 22 and got.through == "aws_security_group.web"
    assert got.describe("aws_instance.i") == "reachable: aws_security_group.web allows 0.0.0.0/0 on port 22 (SSH)"


@pytest.mark.parametrize("resources", [
    [("aws_security_group", "web", {"ingress": [{"from_port": [22], "to_port": [22],
                                                  "cidr_blocks": [["10.0.0.0/8"]]}]})],
    [("aws_security_group", "web", {}), ("aws_security_group_rule", "out", {
        "type": ["egress"], "cidr_blocks": [["0.0.0.0/0"]], "security_group_id": ["${aws_security_group.web.id}"]})],
    [("aws_security_group", "other", OPEN_22)],  # an open group the instance does not use
], ids=["private-group", "open-egress-rule", "another-group"])
def test_not_reachable(resources: Resources) -> None:
    assert reach("aws_instance", "i", INSTANCE, resources) is None


def test_an_ingress_rule_attached_to_the_group_opens_it() -> None:
    rule = {"type": ["ingress"], "from_port": [3389], "to_port": [3389], "cidr_blocks": [["0.0.0.0/0"]],
            "security_group_id": ["${aws_security_group.web.id}"]}
    got = reach("aws_instance", "i", INSTANCE, [("aws_security_group", "web", {}),
                                                ("aws_security_group_rule", "rdp", rule)])
    assert got is not None and got.admin_port == 3389


@pytest.mark.parametrize(("resource", "exposed"), [
    (("aws_s3_bucket_acl", "a", {"bucket": ["${aws_s3_bucket.b.id}"], "acl": ["public-read"]}), True),
    (("aws_s3_bucket_acl", "a", {"bucket": ["${aws_s3_bucket.b.id}"], "acl": ["private"]}), False),
    (("aws_s3_bucket_policy", "p", {"bucket": ["${aws_s3_bucket.b.id}"], "policy": [
        '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject"}]}']}), True),
    (("aws_s3_bucket_policy", "p", {"bucket": ["${aws_s3_bucket.b.id}"], "policy": [
        '{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]}']}), False),
    (("aws_s3_bucket_policy", "p", {"bucket": ["${aws_s3_bucket.other.id}"], "policy": [
        '{"Statement": [{"Effect": "Allow", "Principal": "*"}]}']}), False),
], ids=["public-acl", "private-acl", "aws-star-policy", "deny-star", "another-bucket"])
def test_bucket_exposure_through_its_acl_or_policy(resource: tuple[str, str, dict[str, Any]], exposed: bool) -> None:
    assert (reach("aws_s3_bucket", "b", {}, [resource]) is not None) is exposed


def _lb(internal: bool, lb_type: str = "application") -> Resources:
    return [
        ("aws_lb", "front", {"internal": [internal], "load_balancer_type": [lb_type]}),
        ("aws_lb_target_group_attachment", "a", {"target_group_arn": ["${aws_lb_target_group.app.arn}"],
                                                 "target_id": ["${aws_instance.i.id}"]}),
        ("aws_lb_listener", "http", {"load_balancer_arn": ["${aws_lb.front.arn}"], "default_action": [
            {"type": ["forward"], "target_group_arn": ["${aws_lb_target_group.app.arn}"]}]}),
    ]


@pytest.mark.parametrize(("resources", "exposed"), [
    (_lb(False), True), (_lb(True), False), (_lb(False, "gateway"), False)],
    ids=["internet-facing", "internal", "gateway"])
def test_a_load_balancer_in_front(resources: Resources, exposed: bool) -> None:
    assert (reach("aws_instance", "i", {}, resources) is not None) is exposed


@pytest.mark.parametrize(("flag", "exposed"), [(None, True), (False, False), (True, True)])
def test_a_public_ip_in_a_public_subnet(flag: bool | None, exposed: bool) -> None:
    body: dict[str, Any] = {"subnet_id": ["${aws_subnet.pub.id}"]}
    if flag is not None:
        body["associate_public_ip_address"] = [flag]
    subnet = ("aws_subnet", "pub", {"map_public_ip_on_launch": [True]})
    assert (reach("aws_instance", "i", body, [subnet]) is not None) is exposed


# ----------------------------------------------------------------------------- calls


def _module(path: Path, source: str, name: str = "m") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(f'module "{name}" {{\n  source = "{source}"\n}}\n')


def test_roots_are_found_through_nested_calls(tmp_path: Path) -> None:
    (tmp_path / "modules" / "leaf").mkdir(parents=True)
    (tmp_path / "modules" / "leaf" / "main.tf").write_text('resource "aws_s3_bucket" "b" {}\n')
    _module(tmp_path / "modules" / "mid" / "main.tf", "../leaf")
    _module(tmp_path / "envs" / "prod" / "main.tf", "../../modules/mid")
    _module(tmp_path / "envs" / "dev" / "main.tf", "../../modules/leaf")
    _module(tmp_path / "envs" / "dev" / "main.tf", "git::https://example.invalid/x.git", "remote")  # not local
    index = CallIndex(str(tmp_path))
    leaf = str(tmp_path / "modules" / "leaf")
    assert index.roots_of(leaf) == (str(tmp_path / "envs" / "dev"), str(tmp_path / "envs" / "prod"))
    assert {c.caller_file for c in index.callers(leaf)} == {str(tmp_path / "modules" / "mid" / "main.tf"),
                                                            str(tmp_path / "envs" / "dev" / "main.tf")}
    assert index.roots_of(str(tmp_path / "envs" / "prod")) == ()  # a root itself


# ----------------------------------------------------------------------------- explain


def _finding(path: Path, resource: str, key: str = "acl") -> Finding:
    return Finding(check_id="CKV_AWS_20", check_name="", result=Result.FAILED, file=str(path), resource=resource,
                   line_range=(1, 4), span=Span.of(0, 0, 0, 1), evaluated_keys=(key, "resource_type"))


def test_a_local_is_explained_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('locals {\n  acl = "public-read"\n}\n')
    (tmp_path / "b.tf").write_text('resource "aws_s3_bucket" "b" {\n  acl = local.acl\n}\n')
    engine = make_engine(str(tmp_path), repo_root=str(tmp_path))
    (e,) = Explainer(engine, str(tmp_path)).explain(_finding(tmp_path / "b.tf", "aws_s3_bucket.b"),
                                                    {"acl": ["${local.acl}"]})
    assert e.describe() == 'acl = local.acl → "public-read" (local at main.tf:2)'


def test_a_module_input_from_the_callers_variable_is_followed_to_its_tfvars(tmp_path: Path) -> None:
    mod = tmp_path / "modules" / "s3"
    mod.mkdir(parents=True)
    (mod / "main.tf").write_text('variable "acl" {}\nresource "aws_s3_bucket" "this" {\n  acl = var.acl\n}\n')
    root = tmp_path / "live"
    root.mkdir()
    (root / "main.tf").write_text('variable "bucket_acl" {\n  default = "private"\n}\n\n'
                                  'module "s3" {\n  source = "../modules/s3"\n  acl    = var.bucket_acl\n}\n')
    (root / "terraform.tfvars").write_text('bucket_acl = "public-read-write"\n')
    engine = make_engine(str(tmp_path), repo_root=str(tmp_path))
    explainer = Explainer(engine, str(tmp_path), CallIndex(str(tmp_path)))
    (e,) = explainer.explain(_finding(mod / "main.tf", "module.s3.aws_s3_bucket.this"), {"acl": ["${var.acl}"]})
    assert (e.value, e.kind, e.origin, e.via) == ('"public-read-write"', "tfvars", "live/terraform.tfvars:1",
                                                  "module.s3 (live/main.tf:7)")


def test_two_calls_of_the_same_name_are_not_guessed(tmp_path: Path) -> None:
    mod = tmp_path / "modules" / "s3"
    mod.mkdir(parents=True)
    (mod / "main.tf").write_text('variable "acl" {}\nresource "aws_s3_bucket" "this" {\n  acl = var.acl\n}\n')
    for name, acl in (("a", "public-read"), ("b", "private")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.tf").write_text(f'module "s3" {{\n  source = "../modules/s3"\n  acl = "{acl}"\n}}\n')
    engine = make_engine(str(tmp_path), repo_root=str(tmp_path))
    explainer = Explainer(engine, str(tmp_path), CallIndex(str(tmp_path)))
    assert explainer.explain(_finding(mod / "main.tf", "module.s3.aws_s3_bucket.this"), {"acl": ["${var.acl}"]}) == ()
    # Checkov's own caller decides it
    f = _finding(mod / "main.tf", "module.s3.aws_s3_bucket.this")
    f = Finding(**{**f.__dict__, "caller_file": str(tmp_path / "b" / "main.tf"), "caller_line_range": (1, 4)})
    (e,) = explainer.explain(f, {"acl": ["${var.acl}"]})
    assert (e.value, e.origin, e.via) == ('"private"', "b/main.tf:3", "module.s3")


def test_tier_1_reads_the_variables_files_terraform_loads_by_itself_in_checkovs_order(tmp_path: Path) -> None:
    # Checkov's tier 2 applies terraform.tfvars and *.auto.tfvars (a later one wins); tier 1's module
    # context now does too, so explained values and both tiers agree.
    (tmp_path / "main.tf").write_text('variable "a" {\n  default = "d"\n}\nvariable "b" {\n  default = "d"\n}\n'
                                      'variable "c" {\n  default = "d"\n}\n')
    (tmp_path / "terraform.tfvars").write_text('a = "tfvars"\nb = "tfvars"\nc = "tfvars"\n')
    (tmp_path / "x.auto.tfvars").write_text('b = "auto"\nc = "auto"\n')
    (tmp_path / "prod.tfvars").write_text('c = "var-file"\n')
    engine = make_engine(str(tmp_path), repo_root=str(tmp_path), var_files=[str(tmp_path / "prod.tfvars")])
    assert engine.module_context(str(tmp_path)).variables == {"a": "tfvars", "b": "auto", "c": "var-file"}


def test_the_call_index_never_opens_a_fifo_or_follows_a_symlink(tmp_path: Path) -> None:
    import os

    _module(tmp_path / "live" / "main.tf", "../modules/m")
    os.mkfifo(tmp_path / "live" / "trap.tf")  # opening it would block the server
    outside = tmp_path.parent / f"{tmp_path.name}-outside.tf"
    outside.write_text('module "x" {\n  source = "../modules/m"\n}\n')
    (tmp_path / "live" / "link.tf").symlink_to(outside)
    index = CallIndex(str(tmp_path))
    assert [c.caller_file for c in index.callers(str(tmp_path / "modules" / "m"))] == [
        str(tmp_path / "live" / "main.tf")]


def test_the_first_grant_in_the_modules_order_is_the_one_named() -> None:
    """Indexed lookups keep the resources' order: of two grants opening a bucket, the first declared is named."""
    policy = {"bucket": ["${aws_s3_bucket.b.id}"], "policy": ['{"Statement": [{"Effect": "Allow", "Principal": "*"}]}']}
    acl = {"bucket": ["${aws_s3_bucket.b.id}"], "acl": ["public-read"]}
    first_policy = [("aws_s3_bucket_policy", "p", policy), ("aws_s3_bucket_acl", "a", acl)]
    got = reach("aws_s3_bucket", "b", {}, first_policy)
    assert got is not None and got.through == "aws_s3_bucket_policy.p"
    first_acl = first_policy[::-1]
    assert (got := reach("aws_s3_bucket", "b", {}, first_acl)) is not None and got.through == "aws_s3_bucket_acl.a"
    assert reach("aws_s3_bucket", "other", {}, first_acl) is None


def test_a_large_modules_findings_read_its_blocks_once_not_once_each(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every failed finding asks for its module's other resources (reach). A module of 1,500 buckets took
    231 s of tfguard's own work per full check (Checkov: 5 s) while each finding rendered and scanned every
    block again; now the module's resources are rendered once per pass and indexed once. Counted, not timed:
    the work must grow with blocks plus findings, not with their product."""
    import tfguard.reach as reach_mod
    import tfguard.wiring as wiring_mod
    from tfguard.scan.live import LiveScan

    n = 200
    mod = tmp_path / "big"
    mod.mkdir()
    (mod / "main.tf").write_text("".join(
        f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n\n'
        f'resource "aws_s3_bucket_acl" "a{i}" {{\n  bucket = aws_s3_bucket.b{i}.id\n  acl    = "private"\n}}\n\n'
        for i in range(n)) + 'resource "aws_s3_bucket_acl" "open" {\n  bucket = aws_s3_bucket.b7.id\n'
                             '  acl    = "public-read"\n}\n')
    counts = {"render": 0, "refs": 0}

    def counted(name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(wiring_mod, "render_conf", counted("render", wiring_mod.render_conf))
    monkeypatch.setattr(reach_mod, "_refs", counted("refs", reach_mod._refs))
    engine = make_engine(str(tmp_path))
    result = LiveScan(engine, str(tmp_path), use_side=False).run().results[str(mod / "main.tf")]
    failed = [f for f in result.findings if f.result is Result.FAILED]
    buckets = [f for f in failed if f.resource.startswith("aws_s3_bucket.b")]
    assert len(buckets) > 5 * n, len(buckets)  # each bucket fails several checks
    reached = {f.resource for f in buckets if any("reachable: aws_s3_bucket_acl.open has acl public-read" in c
                                                          for c in f.context)}
    assert reached == {"aws_s3_bucket.b7"}, "reach still answers, for the one bucket the open ACL names"
    blocks = 2 * n + 1
    # each finding renders its own block; before, every failed one rendered the module's blocks too (~560,000 here)
    assert counts["render"] <= 2 * (blocks + len(result.findings)), counts
    assert counts["refs"] <= 3 * (blocks + len(failed)), counts
