"""GCP fixes of issue #21, each proven by Checkov: node pools over a list of maps (``lookup(each.value,
"key", default)``), fixed at the call (the key in each map) or in the module's own file (the default);
fixes through a module call with no input driving them, made in the module's file; CKV_GCP_38's key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tfguard.engine import Engine
from tfguard.fixes import build_edits, edit_path, example_value, offers_for
from tfguard.fixes.lookups import parse_lookup, set_key_in_maps
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Finding, Result

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes"
POOLS = 'module.gke.google_container_node_pool.pools["{}"]'
TITLE = ('Fix CKV_GCP_68 at the call of module "gke": set enable_secure_boot = true, '
         "enable_integrity_monitoring = true in each map of node_pools")
FIXED_CALL = '''module "gke" {
  source = "./modules/pools"

  node_pools = [
    {
      name         = "pool-01"
      machine_type = "e2-medium"
      enable_secure_boot = true
      enable_integrity_monitoring = true
    },
    { name = "pool-02", enable_secure_boot = true, enable_integrity_monitoring = true },
  ]
}
'''


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURES / name, dst)
    return dst


def _records(engine: Engine, directory: Path) -> dict[tuple[str, str], str]:
    return {(r.check_id, r.resource): str(r.result) for r in engine.module_run(str(directory)).records}


def _failed_through_call(engine: Engine, directory: Path, check_id: str) -> list[Finding]:
    recs = [r for r in engine.module_run(str(directory)).records
            if r.check_id == check_id and r.resource.startswith("module.") and str(r.result) == "FAILED"]
    return sorted(engine.records_to_findings(recs, None), key=lambda f: f.resource)


def _apply(engine: Engine, path: str, edits: list) -> str:  # type: ignore[type-arg]
    text, _ = engine.read(path)
    assert text is not None and edits
    new = apply_text_edits(text, edits)
    engine.set_overlay(path, new)
    return new


def _module_finding(engine: Engine, module_dir: Path, check_id: str) -> Finding:
    fa = engine.analyze_module(str(module_dir)).get(str(module_dir / "main.tf"))
    assert fa is not None
    [f] = [f for f in fa.findings if f.check_id == check_id and f.result is Result.FAILED]
    return f


# --------------------------------------------------------------------------- lookups over a list of maps


def test_node_pool_lookup_is_fixed_at_the_call_in_each_map(tmp_path: Path) -> None:
    ws = _copy(tmp_path, "gke_pools")
    engine = Engine(str(ws))
    module_text = (ws / "modules" / "pools" / "main.tf").read_text()
    findings = _failed_through_call(engine, ws, "CKV_GCP_68")
    assert [f.resource for f in findings] == [POOLS.format("pool-01"), POOLS.format("pool-02")]
    for finding in findings:
        # the caller's maps decide: no default changed in the shared module, no suppression there
        [offer] = offers_for(finding, engine)
        assert offer.kind == "input" and offer.title == TITLE and not offer.safe
        assert edit_path(offer, finding) == str(ws / "main.tf")

    offer = offers_for(findings[1], engine)[0]
    new = _apply(engine, str(ws / "main.tf"), build_edits(offer, findings[1], engine))
    assert new == FIXED_CALL  # pool-02's explicit false replaced, pool-01's key added, layout kept
    after = _records(engine, ws)
    assert {after[("CKV_GCP_68", POOLS.format(p))] for p in ("pool-01", "pool-02")} == {"PASSED"}
    assert not [k for k, v in after.items() if v == "FAILED"]
    assert (ws / "modules" / "pools" / "main.tf").read_text() == module_text
    assert build_edits(offer, findings[0], engine) == []  # idempotent, for both pools
    assert [o for o in offers_for(findings[0], engine) if o.kind == "input"] == []


def test_no_fix_at_the_call_when_a_map_computes_the_key(tmp_path: Path) -> None:
    ws = _copy(tmp_path, "gke_pools")
    caller = ws / "main.tf"
    caller.write_text(caller.read_text().replace("enable_secure_boot = false", "enable_secure_boot = var.boot")
                      + 'variable "boot" {\n  type    = bool\n  default = false\n}\n')
    engine = Engine(str(ws))
    findings = _failed_through_call(engine, ws, "CKV_GCP_68")
    assert findings
    for finding in findings:
        assert offers_for(finding, engine) == []


def test_node_pool_lookup_default_is_fixed_in_the_modules_own_file(tmp_path: Path) -> None:
    ws = _copy(tmp_path, "gke_pools")
    module_dir = ws / "modules" / "pools"
    engine = Engine(str(ws))
    finding = _module_finding(engine, module_dir, "CKV_GCP_68")
    assert finding.resource == 'google_container_node_pool.pools["default"]'
    local = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert [o.title for o in local] == [
        "Fix CKV_GCP_68: enable Secure Boot (and integrity monitoring) for Shielded GKE nodes"]
    text = (module_dir / "main.tf").read_text()
    new = _apply(engine, str(module_dir / "main.tf"), build_edits(local[0], finding, engine))
    assert new == text.replace('lookup(each.value, "enable_secure_boot", false)',
                               'lookup(each.value, "enable_secure_boot", true)')
    fa = engine.analyze_module(str(module_dir)).get(str(module_dir / "main.tf"))
    assert fa is not None
    got = {f.result for f in fa.findings if f.check_id == "CKV_GCP_68" and f.resource == finding.resource}
    assert got == {Result.PASSED}
    assert not [f for f in fa.findings if f.result is Result.FAILED]
    assert build_edits(local[0], finding, engine) == []


def test_no_lookup_fix_where_checkov_did_not_expand_the_pools(tmp_path: Path) -> None:
    # for_each over an empty list: Checkov reports ``pools`` without an instance key, its lookups
    # unevaluated; a new default would change nothing it sees, so nothing is offered
    ws = _copy(tmp_path, "gke_pools")
    module = ws / "modules" / "pools" / "main.tf"
    module.write_text(module.read_text().replace('default = [{ name = "default" }]', "default = []"))
    engine = Engine(str(ws))
    finding = _module_finding(engine, ws / "modules" / "pools", "CKV_GCP_68")
    assert finding.resource == "google_container_node_pool.pools"
    assert [o for o in offers_for(finding, engine) if o.kind != "suppress"] == []


@pytest.mark.parametrize(("value", "expected"), [
    ('[{ name = "a" }]', '[{ name = "a", k = true }]'),
    ('[{ name = "a", }]', '[{ name = "a", k = true }]'),
    ("[{}]", "[{ k = true }]"),
    ('[{ name = "a", k = false }]', '[{ name = "a", k = true }]'),
    ('[\n  {\n    name = "a" # first\n  },\n]', '[\n  {\n    name = "a" # first\n    k = true\n  },\n]'),
    ('[{ name = "a", k = true }]', '[{ name = "a", k = true }]'),
])
def test_set_key_in_maps(value: str, expected: str) -> None:
    assert set_key_in_maps(value, 0, len(value), "k", "true") == expected


@pytest.mark.parametrize("value", [
    "var.pools",  # not a list literal
    "[local.pool]",  # an element that is not an object literal
    '[{ name = "a", k = var.k }]',  # the caller computes the key
    '[\n  {\n    name = "a" }\n]',  # the closing brace shares a line with a value
])
def test_set_key_in_maps_refuses(value: str) -> None:
    assert set_key_in_maps(value, 0, len(value), "k", "true") is None


def test_parse_lookup_takes_the_whole_value_only() -> None:
    v = 'lookup(each.value, "image_type", "COS_CONTAINERD")'
    found = parse_lookup(v, 0, len(v))
    assert found is not None and (found.map_expr, found.key, found.default) == (
        "each.value", "image_type", '"COS_CONTAINERD"')
    assert v[found.start:found.end] == '"COS_CONTAINERD"'
    for other in ('lookup(each.value, "a", false) ? 1 : 2', "lookup(each.value, var.key, false)",
                  'lookup(each.value, "a")'):
        assert parse_lookup(other, 0, len(other)) is None


# --------------------------------------------------------------------------- through a call, in the module's file


@pytest.mark.parametrize(("check_id", "line"), [
    ("CKV_GCP_74", "  private_ip_google_access = true\n"),
    ("CKV_GCP_26", '    aggregation_interval = "INTERVAL_10_MIN"\n'),
])
def test_literal_resource_through_a_call_is_fixed_in_the_modules_file(tmp_path: Path, check_id: str,
                                                                      line: str) -> None:
    # the examples' own subnetworks, called by the test fixtures: no input drives the value
    ws = _copy(tmp_path, "gcp_in_module")
    engine = Engine(str(ws))
    [finding] = _failed_through_call(engine, ws / "fixture", check_id)
    assert finding.resource == "module.example.google_compute_subnetwork.producer"
    [offer] = offers_for(finding, engine)
    assert offer.kind == "local" and offer.title.startswith(f"Fix {check_id} (in the module for every caller): ")
    assert edit_path(offer, finding) == str(ws / "example" / "main.tf")
    before = {k for k, v in _records(engine, ws / "fixture").items() if v == "FAILED"}
    new = _apply(engine, str(ws / "example" / "main.tf"), build_edits(offer, finding, engine))
    assert line in new
    after = _records(engine, ws / "fixture")
    assert after[(check_id, finding.resource)] == "PASSED"
    assert {k for k, v in after.items() if v == "FAILED"} <= before - {(check_id, finding.resource)}
    assert build_edits(offer, finding, engine) == []


def test_companion_firewall_of_a_literal_network_is_added_in_the_modules_file(tmp_path: Path) -> None:
    # the example's own network (named by the example), reported only through the fixture's call
    ws = _copy(tmp_path, "gcp_in_module")
    engine = Engine(str(ws))
    [finding] = _failed_through_call(engine, ws / "fixture", "CKV2_GCP_18")
    assert finding.resource == "module.example.google_compute_network.producer"
    [offer] = offers_for(finding, engine)
    assert offer.kind == "local" and offer.title == ("Fix CKV2_GCP_18 (in the module for every caller): add a "
                                                     "google_compute_firewall denying all ingress (the network's "
                                                     "own firewall)")
    new = _apply(engine, str(ws / "example" / "main.tf"), build_edits(offer, finding, engine))
    assert '  name      = "producer-deny-all-ingress"\n  network   = google_compute_network.producer.id\n' in new
    assert _records(engine, ws / "fixture")[("CKV2_GCP_18", finding.resource)] == "PASSED"
    assert build_edits(offer, finding, engine) == []


def test_no_companion_firewall_for_a_network_named_by_a_module_input(tmp_path: Path) -> None:
    # a shared network module: every instance would create a firewall of the same name in its project
    ws = _copy(tmp_path, "gcp_in_module")
    example = ws / "example" / "main.tf"
    example.write_text(example.read_text().replace('  name                    = "producer"\n',
                                                   "  name                    = var.network_name\n", 1)
                       + 'variable "network_name" {\n  default = "producer"\n}\n')
    engine = Engine(str(ws))
    [finding] = _failed_through_call(engine, ws / "fixture", "CKV2_GCP_18")
    assert [o for o in offers_for(finding, engine) if o.kind != "suppress"] == []
    fa = engine.analyze_module(str(ws / "example")).get(str(example))
    assert fa is not None
    [own] = [f for f in fa.findings if f.check_id == "CKV2_GCP_18" and f.result is Result.FAILED]
    assert [o for o in offers_for(own, engine) if o.kind != "suppress"] == []  # nor in the module's own run


# --------------------------------------------------------------------------- CKV_GCP_38: the developer's key


def test_boot_disk_key_is_a_choice_of_the_modules_kms_keys(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "CKV_GCP_38", ws)
    path = ws / "main.tf"
    path.write_text(path.read_text() + '\nresource "google_kms_crypto_key" "boot" {\n  name     = "boot"\n'
                    '  key_ring = "projects/p/locations/europe-west1/keyRings/vm"\n'
                    '  rotation_period = "7776000s"\n}\n')
    engine = Engine(str(ws))
    [finding] = [f for f in engine.analyze_file(str(path)).findings
                 if f.check_id == "CKV_GCP_38" and f.result is Result.FAILED]
    offers = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert [(o.title, o.value, o.prompt is not None) for o in offers] == [
        ("Fix CKV_GCP_38: encrypt the boot disk with a customer managed key: google_kms_crypto_key.boot",
         "google_kms_crypto_key.boot.id", False),
        ("Fix CKV_GCP_38: encrypt the boot disk with a customer managed key (type it)", None, True)]
    assert build_edits(offers[1], finding, engine, value="my-key") == []  # not a key: no edit
    assert example_value(offers[1]) is not None
    new = _apply(engine, str(path), build_edits(offers[0], finding, engine))
    assert "    kms_key_self_link = google_kms_crypto_key.boot.id\n" in new
    got = {f.result for f in engine.analyze_file(str(path)).findings
           if f.check_id == "CKV_GCP_38" and f.resource == finding.resource}
    assert got == {Result.PASSED}


# --------------------------------------------------------------------------- a variable's default


def _cluster_module(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.tf").write_text(
        'resource "google_container_cluster" "primary" {\n  name                        = "primary"\n'
        '  location                    = "europe-west1"\n  initial_node_count          = 1\n'
        "  enable_intranode_visibility = var.enable_intranode_visibility\n}\n")
    (ws / "variables.tf").write_text(
        'variable "enable_intranode_visibility" {\n  type    = bool\n  default = false\n}\n')
    return ws


def test_attribute_from_a_variable_is_fixed_by_its_default_in_the_modules_own_run(tmp_path: Path) -> None:
    ws = _cluster_module(tmp_path)
    engine = Engine(str(ws))
    [finding] = [f for f in engine.analyze_file(str(ws / "main.tf")).findings
                 if f.check_id == "CKV_GCP_61" and f.result is Result.FAILED]
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.title == ("Fix CKV_GCP_61: set the default of var.enable_intranode_visibility to true "
                           "(for every caller that does not set it)") and not offer.safe
    assert edit_path(offer, finding) == str(ws / "variables.tf")
    new = _apply(engine, str(ws / "variables.tf"), build_edits(offer, finding, engine))
    assert new == 'variable "enable_intranode_visibility" {\n  type    = bool\n  default = true\n}\n'
    got = {f.result for f in engine.analyze_file(str(ws / "main.tf")).findings if f.check_id == "CKV_GCP_61"}
    assert got == {Result.PASSED}
    assert build_edits(offer, finding, engine) == []
    assert [o for o in offers_for(finding, engine) if o.kind == "local"] == []


def test_no_default_fix_when_a_tfvars_file_sets_the_variable(tmp_path: Path) -> None:
    ws = _cluster_module(tmp_path)
    (ws / "terraform.tfvars").write_text("enable_intranode_visibility = false\n")
    engine = Engine(str(ws))
    [finding] = [f for f in engine.analyze_file(str(ws / "main.tf")).findings
                 if f.check_id == "CKV_GCP_61" and f.result is Result.FAILED]
    assert [o for o in offers_for(finding, engine) if o.kind == "local"] == []


def test_cluster_labels_are_typed_and_validated(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "CKV_GCP_21", ws)
    path = ws / "main.tf"
    engine = Engine(str(ws))
    [finding] = [f for f in engine.analyze_file(str(path)).findings
                 if f.check_id == "CKV_GCP_21" and f.result is Result.FAILED]
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.prompt is not None
    for bad in ("Team=x", "team", "team=x,", "team=x\nenv=y"):
        assert build_edits(offer, finding, engine, value=bad) == [], bad
    new = _apply(engine, str(path), build_edits(offer, finding, engine, value="team=payments, env=prod"))
    assert '  resource_labels = { team = "payments", env = "prod" }\n' in new
    got = {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_GCP_21"}
    assert got == {Result.PASSED}


# --------------------------------------------------------------------------- CKV_GCP_40: no public IP


def test_public_ip_is_removed_with_its_block_only(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "CKV_GCP_40", ws)
    path = ws / "main.tf"
    text = path.read_text()
    engine = Engine(str(ws))
    [finding] = [f for f in engine.analyze_file(str(path)).findings
                 if f.check_id == "CKV_GCP_40" and f.result is Result.FAILED]
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert not offer.safe  # the instance loses its internet access
    new = _apply(engine, str(path), build_edits(offer, finding, engine))
    assert new == text.replace("\n\n    access_config {\n      // Ephemeral public IP\n    }\n", "\n")
    got = {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == "CKV_GCP_40"}
    assert got == {Result.PASSED}


def test_no_public_ip_fix_for_a_dynamic_access_config(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "CKV_GCP_40", ws)
    path = ws / "main.tf"
    path.write_text(path.read_text().replace(
        "    access_config {\n      // Ephemeral public IP\n    }",
        '    dynamic "access_config" {\n      for_each = [1]\n      content {}\n    }'))
    engine = Engine(str(ws))
    found = [f for f in engine.analyze_file(str(path)).findings
             if f.check_id == "CKV_GCP_40" and f.result is Result.FAILED]
    assert found  # Checkov renders the dynamic block: the instance still has a public IP
    assert [o for o in offers_for(found[0], engine) if o.kind == "local"] == []


# --------------------------------------------------------------------------- CKV_GCP_2 / CKV_GCP_106: a typed range


@pytest.mark.parametrize("check_id", ["CKV_GCP_2", "CKV_GCP_106"])
def test_firewall_source_range_is_typed_and_never_the_whole_internet(tmp_path: Path, check_id: str) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / check_id, ws)
    path = ws / "main.tf"
    engine = Engine(str(ws))
    [finding] = [f for f in engine.analyze_file(str(path)).findings
                 if f.check_id == check_id and f.result is Result.FAILED]
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.prompt is not None and not offer.safe
    for bad in ("0.0.0.0/0", "10.0.0.0", "300.1.1.1/8", "10.0.0.0/33", "any"):
        assert build_edits(offer, finding, engine, value=bad) == [], bad
    new = _apply(engine, str(path), build_edits(offer, finding, engine, value="192.168.10.0/24"))
    assert '  source_ranges = ["192.168.10.0/24"]\n' in new
    got = {f.result for f in engine.analyze_file(str(path)).findings if f.check_id == check_id}
    assert got == {Result.PASSED}


# --------------------------------------------------------------------------- CKV_GCP_12: a dynamic block's switch

_POLICY_CLUSTER = '''resource "google_container_cluster" "primary" {
  name               = "primary"
  location           = "europe-west1"
  initial_node_count = 1

  dynamic "network_policy" {
    for_each = local.cluster_network_policy

    content {
      enabled  = network_policy.value.enabled
      provider = network_policy.value.provider
    }
  }
}
'''
_POLICY_LOCALS = '''locals {
  cluster_network_policy = var.network_policy ? [{
    enabled  = true
    provider = var.network_policy_provider
    }] : [{
    enabled  = false
    provider = null
  }]
}
'''
_POLICY_VARIABLES = '''variable "network_policy" {
  type    = bool
  default = false
}

variable "network_policy_provider" {
  type    = string
  default = "CALICO"
}
'''


def _policy_module(directory: Path, locals_text: str = _POLICY_LOCALS) -> None:
    directory.mkdir(parents=True)
    (directory / "cluster.tf").write_text(_POLICY_CLUSTER)
    (directory / "main.tf").write_text(locals_text)
    (directory / "variables.tf").write_text(_POLICY_VARIABLES)


def _policy_finding(engine: Engine, module_dir: Path) -> Finding:
    fa = engine.analyze_module(str(module_dir)).get(str(module_dir / "cluster.tf"))
    assert fa is not None
    [f] = [f for f in fa.findings if f.check_id == "CKV_GCP_12" and f.result is Result.FAILED]
    return f


def test_dynamic_block_switched_on_a_boolean_is_fixed_by_the_variables_default(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _policy_module(ws)
    engine = Engine(str(ws))
    finding = _policy_finding(engine, ws)
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.title == ("Fix CKV_GCP_12: set the default of var.network_policy to true "
                           "(for every caller that does not set it)") and not offer.safe
    assert edit_path(offer, finding) == str(ws / "variables.tf")
    new = _apply(engine, str(ws / "variables.tf"), build_edits(offer, finding, engine))
    assert new == _POLICY_VARIABLES.replace("default = false", "default = true", 1)
    fa = engine.analyze_module(str(ws)).get(str(ws / "cluster.tf"))
    assert fa is not None and {f.result for f in fa.findings if f.check_id == "CKV_GCP_12"} == {Result.PASSED}
    assert build_edits(offer, finding, engine) == []


def test_dynamic_block_switched_on_a_boolean_is_fixed_at_the_call(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _policy_module(ws / "modules" / "cluster")
    caller = ws / "main.tf"
    caller.write_text('module "gke" {\n  source = "./modules/cluster"\n\n  network_policy = false\n}\n')
    engine = Engine(str(ws))
    [finding] = _failed_through_call(engine, ws, "CKV_GCP_12")
    [offer] = offers_for(finding, engine)
    assert offer.kind == "input"
    assert offer.title == 'Fix CKV_GCP_12 at the call of module "gke": set network_policy = true'
    assert edit_path(offer, finding) == str(caller)
    new = _apply(engine, str(caller), build_edits(offer, finding, engine))
    assert new == 'module "gke" {\n  source = "./modules/cluster"\n\n  network_policy = true\n}\n'
    assert _records(engine, ws)[("CKV_GCP_12", finding.resource)] == "PASSED"
    assert build_edits(offer, finding, engine) == []


@pytest.mark.parametrize("locals_text", [
    _POLICY_LOCALS.replace("enabled  = true", "enabled  = false"),  # both branches alike: no switch turns it on
    _POLICY_LOCALS.replace("enabled  = true", "enabled  = var.enable"),  # computed: the module's logic
    _POLICY_LOCALS.replace("var.network_policy ?", "var.network_policy == var.strict ?"),  # not one input alone
])
def test_no_switch_fix_when_the_branches_do_not_say_which_input(tmp_path: Path, locals_text: str) -> None:
    ws = tmp_path / "ws"
    _policy_module(ws, locals_text)
    engine = Engine(str(ws))
    fa = engine.analyze_module(str(ws)).get(str(ws / "cluster.tf"))
    assert fa is not None
    [f] = [f for f in fa.findings if f.check_id == "CKV_GCP_12" and f.result is Result.FAILED]
    assert [o for o in offers_for(f, engine) if o.kind in ("local", "input")] == []


# --------------------------------------------------------------------------- a typed value as a variable's default

_LABELS_VARIABLE = '''variable "cluster_resource_labels" {
  type        = map(string)
  description = "The GCE resource labels (a map of key/value pairs) to be applied to the cluster"
  default     = {}
}
'''


def _labelled_module(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.tf").write_text(
        'resource "google_container_cluster" "primary" {\n  name               = "primary"\n'
        '  location           = "europe-west1"\n  initial_node_count = 1\n'
        "  resource_labels    = var.cluster_resource_labels\n}\n")
    (ws / "variables.tf").write_text(_LABELS_VARIABLE)
    return ws


def test_typed_labels_become_the_variables_default_in_the_modules_own_run(tmp_path: Path) -> None:
    ws = _labelled_module(tmp_path)
    engine = Engine(str(ws))
    finding = _module_finding(engine, ws, "CKV_GCP_21")
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.title == ("Fix CKV_GCP_21: label the cluster (resource_labels): type the default of "
                           "var.cluster_resource_labels (for every caller that does not set it)")
    assert offer.prompt is not None and offer.group == offer.id == "default:CKV_GCP_21" and not offer.safe
    assert edit_path(offer, finding) == str(ws / "variables.tf")
    assert build_edits(offer, finding, engine) == []  # nothing without the typed value
    for bad in ("Team=x", "team=x\nenv=y", ""):
        assert build_edits(offer, finding, engine, value=bad) == [], bad
    new = _apply(engine, str(ws / "variables.tf"), build_edits(offer, finding, engine, value="team=payments"))
    assert new == _LABELS_VARIABLE.replace("default     = {}", 'default     = { team = "payments" }')
    assert _records(engine, ws)[("CKV_GCP_21", finding.resource)] == "PASSED"
    assert build_edits(offer, finding, engine, value="team=payments") == []
    assert [o for o in offers_for(finding, engine) if o.kind == "local"] == []


def test_typed_namespace_becomes_the_variables_default_and_never_default(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.tf").write_text(
        'resource "kubernetes_service_account_v1" "main" {\n  count = var.create ? 1 : 0\n\n  metadata {\n'
        '    name      = "app"\n    namespace = var.namespace\n  }\n}\n')
    variables = 'variable "create" {\n  default = true\n}\n\nvariable "namespace" {\n  type    = string\n' \
                '  default = "default"\n}\n'
    (ws / "variables.tf").write_text(variables)
    engine = Engine(str(ws))
    finding = _module_finding(engine, ws, "CKV_K8S_21")
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.id == "default:CKV_K8S_21" and offer.prompt is not None
    for bad in ("default", "kube-system", "Payments", "a_b", "team=x"):
        assert build_edits(offer, finding, engine, value=bad) == [], bad
    new = _apply(engine, str(ws / "variables.tf"), build_edits(offer, finding, engine, value="payments"))
    assert new == variables.replace('default = "default"', 'default = "payments"')
    assert _records(engine, ws)[("CKV_K8S_21", finding.resource)] == "PASSED"


def test_literal_kubernetes_resource_through_a_call_gets_its_namespace_in_the_modules_file(tmp_path: Path) -> None:
    # the examples' pods, called by the test fixtures: no input of the call drives the namespace
    ws = tmp_path / "ws"
    (ws / "example").mkdir(parents=True)
    pod = ('resource "kubernetes_pod" "web" {\n  metadata {\n    name = "web"\n  }\n\n  spec {\n'
           '    container {\n      image = "nginx:1.27"\n      name  = "web"\n    }\n  }\n}\n')
    (ws / "example" / "main.tf").write_text(pod)
    (ws / "main.tf").write_text('module "example" {\n  source = "./example"\n}\n')
    engine = Engine(str(ws))
    [finding] = _failed_through_call(engine, ws, "CKV_K8S_21")
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.title == "Fix CKV_K8S_21 (in the module for every caller): put it in its own namespace " \
                          "(metadata.namespace) (type it)"
    new = _apply(engine, str(ws / "example" / "main.tf"), build_edits(offer, finding, engine, value="web"))
    assert new == pod.replace('    name = "web"\n  }', '    name = "web"\n    namespace = "web"\n  }', 1)
    assert _records(engine, ws)[("CKV_K8S_21", finding.resource)] == "PASSED"


# --------------------------------------------------------------------------- CKV_GCP_66: an optional object input

_AUTH_CLUSTER = '''resource "google_container_cluster" "main" {
  name               = "main"
  location           = "europe-west1"
  initial_node_count = 1

  dynamic "binary_authorization" {
    for_each = var.binary_authorization != null ? [var.binary_authorization] : []

    content {
      evaluation_mode = binary_authorization.value.evaluation_mode
    }
  }
}
'''
_AUTH_VARIABLE = '''variable "binary_authorization" {
  type = object({
    evaluation_mode = optional(string)
  })
  default = null
}
'''
_ENFORCE = '{ evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE" }'


def test_optional_object_input_gets_the_one_attribute_as_its_default(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.tf").write_text(_AUTH_CLUSTER)
    (ws / "variables.tf").write_text(_AUTH_VARIABLE)
    engine = Engine(str(ws))
    finding = _module_finding(engine, ws, "CKV_GCP_66")
    [offer] = [o for o in offers_for(finding, engine) if o.kind == "local"]
    assert offer.title == (f"Fix CKV_GCP_66: set the default of var.binary_authorization to {_ENFORCE} "
                           "(for every caller that does not set it)")
    new = _apply(engine, str(ws / "variables.tf"), build_edits(offer, finding, engine))
    assert new == _AUTH_VARIABLE.replace("default = null", f"default = {_ENFORCE}")
    assert _records(engine, ws)[("CKV_GCP_66", finding.resource)] == "PASSED"
    assert build_edits(offer, finding, engine) == []


def test_optional_object_input_is_set_at_the_call(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "cluster").mkdir(parents=True)
    (ws / "cluster" / "main.tf").write_text(_AUTH_CLUSTER + "\n" + _AUTH_VARIABLE)
    caller = ws / "main.tf"
    caller.write_text('module "gke" {\n  source = "./cluster"\n}\n')
    engine = Engine(str(ws))
    [finding] = _failed_through_call(engine, ws, "CKV_GCP_66")
    [offer] = offers_for(finding, engine)
    assert offer.kind == "input"
    assert offer.title == f'Fix CKV_GCP_66 at the call of module "gke": set binary_authorization = {_ENFORCE}'
    new = _apply(engine, str(caller), build_edits(offer, finding, engine))
    assert new == f'module "gke" {{\n  source = "./cluster"\n  binary_authorization = {_ENFORCE}\n}}\n'
    assert _records(engine, ws)[("CKV_GCP_66", finding.resource)] == "PASSED"


def test_no_object_default_when_its_type_requires_other_attributes(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.tf").write_text(_AUTH_CLUSTER)
    (ws / "variables.tf").write_text(_AUTH_VARIABLE.replace(
        "    evaluation_mode = optional(string)\n", "    evaluation_mode = optional(string)\n    policy = string\n"))
    engine = Engine(str(ws))
    finding = _module_finding(engine, ws, "CKV_GCP_66")
    assert [o for o in offers_for(finding, engine) if o.kind == "local"] == []
