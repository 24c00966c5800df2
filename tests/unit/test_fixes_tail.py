"""terragoat's tail (fixes/tail.py): companions wired by reference, choices and typed values, fix-all.

Every fix here is also applied and re-checked by tests/unit/test_fixes.py::test_fix_makes_check_pass on its
fixture; these tests look at what the user gets: the text the fix writes, the choices offered, the typed
values refused, and the graph checks (tier 2) passing once the companion is there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixkit import apply as _apply
from fixkit import failed as _failed
from fixkit import failing as _failing
from fixkit import graph as _graph
from fixkit import offers as _local
from fixkit import result as _result
from fixkit import write as _write

from tfguard.engine import Engine
from tfguard.fixes import FixOffer, build_edits, example_value, fix_all_edits
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Result

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fixes"
GUID = "3f1c2b4a-1111-4222-8333-944445555666"


def _copy(case: str, tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / case, tmp_path / case)
    return tmp_path / case / "main.tf"


# --------------------------------------------------------------------------- AWS Backup (CKV2_AWS_8)

_CLUSTERS = '''resource "aws_kms_key" "backup" {
  description         = "backup vault key"
  enable_key_rotation = true
}

resource "aws_rds_cluster" "orders" {
  cluster_identifier  = "orders"
  engine              = "aurora-postgresql"
  master_username     = "admin"
  master_password     = var.password
  skip_final_snapshot = true
}

resource "aws_rds_cluster" "billing" {
  cluster_identifier  = "billing"
  engine              = "aurora-postgresql"
  master_username     = "admin"
  master_password     = var.password
  skip_final_snapshot = true
}

variable "password" {
  type      = string
  sensitive = true
}
'''


def test_backup_plan_is_wired_to_the_cluster_by_reference(tmp_path: Path) -> None:
    path = _write(tmp_path, _CLUSTERS)
    engine = Engine(str(tmp_path))
    before = _failed(engine, path)
    f = _failing(engine, path, "CKV2_AWS_8", "aws_rds_cluster.orders")
    offers = _local(engine, f)
    # the module's KMS key is the choice, a typed key ARN the other way
    assert [(o.value, o.prompt is not None) for o in offers] == [("aws_kms_key.backup.arn", False), (None, True)]
    assert offers[0].preferred and not any(o.safe for o in offers)
    new = _apply(engine, path, offers[0], f, offers[0].value)
    assert new.startswith(_CLUSTERS.split('resource "aws_rds_cluster" "billing"')[0])  # nothing above it moved
    for line in ('resource "aws_backup_selection" "orders" {\n  name         = "orders"\n'
                 "  plan_id      = aws_backup_plan.orders.id\n  iam_role_arn = aws_iam_role.orders.arn\n"
                 "  resources    = [aws_rds_cluster.orders.arn]\n}",
                 "    target_vault_name = aws_backup_vault.orders.name\n",
                 "  kms_key_arn = aws_kms_key.backup.arn\n",
                 '      Principal = { Service = "backup.amazonaws.com" }\n',
                 "  role       = aws_iam_role.orders.name\n"):
        assert line in new, line
    assert _result(engine, path, "CKV2_AWS_8", "aws_rds_cluster.orders") == {Result.PASSED}
    assert _result(engine, path, "CKV2_AWS_8", "aws_rds_cluster.billing") == {Result.FAILED}  # its own decision
    assert _failed(engine, path) - before == set()  # the vault is encrypted, the role is AWS's managed policy
    assert build_edits(offers[0], f, engine, value=offers[0].value) == []

    # the second cluster gets its own plan next to it; names do not collide
    g = _failing(engine, path, "CKV2_AWS_8", "aws_rds_cluster.billing")
    offer = _local(engine, g)[0]
    new = _apply(engine, path, offer, g, offer.value)
    assert new.count('resource "aws_backup_selection"') == 2 and 'resource "aws_backup_vault" "billing"' in new
    assert not {c for c, _ in _failed(engine, path)} & {"CKV2_AWS_8"}


def test_backup_plan_typed_key_is_validated(tmp_path: Path) -> None:
    path = _write(tmp_path, _CLUSTERS.replace('resource "aws_kms_key" "backup"', 'resource "aws_kms_key" "other"'))
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV2_AWS_8", "aws_rds_cluster.orders")
    typed = next(o for o in _local(engine, f) if o.prompt is not None)
    for bad in ("alias/backup", "arn:aws:kms:eu-west-1:1234:key/x", "*", ""):
        assert build_edits(typed, f, engine, value=bad) == [], bad
    value = example_value(typed)
    assert value is not None
    new = _apply(engine, path, typed, f, value)
    assert f'  kms_key_arn = "{value}"\n' in new


def test_backup_plan_not_offered_for_counted_clusters_or_taken_names(tmp_path: Path) -> None:
    counted = _CLUSTERS.replace('cluster_identifier  = "orders"', 'count               = 2\n'
                                '  cluster_identifier  = "orders-${count.index}"')
    taken = _CLUSTERS + '\nresource "aws_iam_role" "orders" {\n  name               = "orders"\n' \
        '  assume_role_policy = "{}"\n}\n'
    for text in (counted, taken):
        path = _write(tmp_path, text)
        engine = Engine(str(tmp_path))
        f = _failing(engine, path, "CKV2_AWS_8", "aws_rds_cluster.orders[0]" if text is counted else
                     "aws_rds_cluster.orders")
        assert _local(engine, f) == []


def test_backup_selection_in_another_file_counts(tmp_path: Path) -> None:
    path = _write(tmp_path, _CLUSTERS)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV2_AWS_8", "aws_rds_cluster.orders")
    _write(tmp_path, 'resource "aws_backup_selection" "orders" {\n  name         = "orders"\n'
           '  plan_id      = var.plan_id\n  iam_role_arn = var.role_arn\n'
           '  resources    = [aws_rds_cluster.orders.arn]\n}\n', "backup.tf")
    engine = Engine(str(tmp_path))
    assert _result(engine, path, "CKV2_AWS_8", "aws_rds_cluster.orders") == {Result.PASSED}
    assert build_edits(FixOffer("local:CKV2_AWS_8", "", "CKV2_AWS_8", "local", True, False), f, engine,
                       value="aws_kms_key.backup.arn") == []


# --------------------------------------------------------------------------- private endpoints


@pytest.mark.parametrize(("check_id", "subresource"), [
    ("CKV2_AZURE_33", "blob"), ("CKV2_AZURE_45", "sqlServer"), ("CKV2_AZURE_32", "vault"),
    ("CKV2_AZURE_42", "postgresqlServer"), ("CKV2_AZURE_44", "mysqlServer"),
])
def test_private_endpoint_uses_the_module_subnet_and_the_servers_location(check_id: str, subresource: str,
                                                                          tmp_path: Path) -> None:
    path = _copy(check_id, tmp_path)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, check_id)
    offers = _local(engine, f)
    assert [o.value for o in offers] == ["azurerm_subnet.endpoints.id", None]
    assert offers[1].prompt is not None and "subnet" in offers[1].prompt.lower()
    new = _apply(engine, path, offers[0], f, offers[0].value)
    ref = f.resource
    assert f"    private_connection_resource_id = {ref}.id\n" in new
    assert f'    subresource_names              = ["{subresource}"]\n' in new
    assert "  location            = azurerm_resource_group.rg.location\n" in new
    assert "  subnet_id           = azurerm_subnet.endpoints.id\n" in new
    assert _result(engine, path, check_id, ref) == {Result.PASSED}


def test_private_endpoint_typed_subnet_id(tmp_path: Path) -> None:
    path = _copy("CKV2_AZURE_45", tmp_path)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV2_AZURE_45")
    typed = next(o for o in _local(engine, f) if o.prompt is not None)
    for bad in ("subnet-1", "azurerm_subnet.endpoints.name", '/subscriptions/x"y/subnets/z'):
        assert build_edits(typed, f, engine, value=bad) == [], bad
    value = example_value(typed)
    assert value is not None
    new = _apply(engine, path, typed, f, value)
    assert f'  subnet_id           = "{value}"\n' in new


# --------------------------------------------------------------------------- typed values


def test_aad_administrator_typed_login_and_object_id(tmp_path: Path) -> None:
    path = _copy("CKV2_AZURE_27", tmp_path)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV2_AZURE_27")
    offers = _local(engine, f)
    assert len(offers) == 1 and offers[0].prompt is not None  # no azuread data source here: typed only
    for bad in ("sql-admins", f"sql-admins {GUID}", "sql-admins, not-a-guid", f'a"b, {GUID}'):
        assert build_edits(offers[0], f, engine, value=bad) == [], bad
    new = _apply(engine, path, offers[0], f, f"SQL Admins, {GUID}")
    assert f'  azuread_administrator {{\n    login_username = "SQL Admins"\n    object_id = "{GUID}"\n  }}\n' in new
    assert _result(engine, path, "CKV2_AZURE_27", f.resource) == {Result.PASSED}


def test_aad_administrator_from_an_azuread_group(tmp_path: Path) -> None:
    path = _copy("CKV2_AZURE_27", tmp_path)
    path.write_text(path.read_text() + '\ndata "azuread_group" "dba" {\n  display_name = "DBAs"\n}\n')
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV2_AZURE_27")
    offers = _local(engine, f)
    assert [o.value for o in offers] == ["data.azuread_group.dba", None]
    new = _apply(engine, path, offers[0], f, offers[0].value)
    assert "    login_username = data.azuread_group.dba.display_name\n" in new
    assert "    object_id = data.azuread_group.dba.object_id\n" in new


@pytest.mark.parametrize(("check_id", "bad", "good", "written"), [
    ("CKV_AZURE_26", "security", "a@example.com, b@example.com",
     'email_addresses = ["a@example.com", "b@example.com"]'),
    ("CKV_AZURE_213", "health", "/healthz", 'health_check_path = "/healthz"'),
    ("CKV_AZURE_40", "2027-12-31", "2028-01-31T00:00:00Z", 'expiration_date = "2028-01-31T00:00:00Z"'),
    ("CKV_AZURE_6", "0.0.0.0/0", "198.51.100.0/24", 'api_server_authorized_ip_ranges = ["198.51.100.0/24"]'),
    ("CKV_AWS_382", "0.0.0.0/0", "172.16.0.0/12", 'cidr_blocks       = ["172.16.0.0/12"]'),
])
def test_typed_values_are_validated(check_id: str, bad: str, good: str, written: str, tmp_path: Path) -> None:
    path = _copy(check_id, tmp_path)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, check_id)
    typed = next(o for o in _local(engine, f) if o.prompt is not None)
    assert build_edits(typed, f, engine, value=bad) == []
    new = _apply(engine, path, typed, f, good)
    assert written in new
    assert _result(engine, path, check_id, f.resource) == {Result.PASSED}


def test_egress_with_several_rules_is_left_to_the_developer(tmp_path: Path) -> None:
    path = _write(tmp_path, '''resource "aws_security_group" "web" {
  name        = "web"
  description = "web servers"
  vpc_id      = var.vpc_id

  egress {
    description = "all"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "https"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

variable "vpc_id" {
  type = string
}
''')
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AWS_382")
    assert _local(engine, f) == []


# --------------------------------------------------------------------------- attribute fixes


def test_list_fixes_keep_the_entries_and_the_comment(tmp_path: Path) -> None:
    path = _copy("CKV_AZURE_36", tmp_path)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_36")
    offer = _local(engine, f)[0]
    new = _apply(engine, path, offer, f)
    assert '  bypass         = ["Metrics", "AzureServices"] # metrics only\n' in new
    assert build_edits(offer, f, engine) == []


def test_geo_replication_not_offered_for_an_expression(tmp_path: Path) -> None:
    path = _copy("CKV_AZURE_206", tmp_path)
    path.write_text(path.read_text().replace('account_replication_type = "LRS"',
                                             "account_replication_type = var.replication"))
    path.write_text(path.read_text() + '\nvariable "replication" {\n  default = "LRS"\n}\n')
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_206")
    assert _local(engine, f) == []


def test_fix_all_on_a_storage_account_applies_the_safe_fixes_once(tmp_path: Path) -> None:
    path = _copy("CKV_AZURE_33", tmp_path)
    engine = Engine(str(tmp_path))
    findings = _graph(engine, path)
    before = {(f.check_id, f.resource) for f in findings if f.result is Result.FAILED}
    wanted = {"CKV2_AZURE_47", "CKV2_AZURE_41", "CKV2_AZURE_38", "CKV_AZURE_33", "CKV2_AZURE_40"}
    assert wanted <= {c for c, _ in before}
    new = apply_text_edits(path.read_text(), fix_all_edits(str(path), findings, engine))
    engine.set_overlay(str(path), new)
    assert new.count("queue_properties {") == 1 and new.count("logging {") == 1
    assert "shared_access_key_enabled = true" in new  # said, as the SAS policy check needs; not turned off
    after = _failed(engine, path)
    fixed = {"CKV2_AZURE_47", "CKV2_AZURE_41", "CKV2_AZURE_38", "CKV_AZURE_33"}
    assert not {c for c, _ in after} & fixed
    assert ("CKV2_AZURE_40", "azurerm_storage_account.logs") in after  # unsafe: offered one by one only
    assert after - before == set()
    assert fix_all_edits(str(path), _graph(engine, path), engine) == []


def test_nsg_fix_narrows_only_the_rule_open_on_that_port(tmp_path: Path) -> None:
    path = _copy("CKV_AZURE_10", tmp_path)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_10")
    typed = _local(engine, f)
    assert len(typed) == 1 and typed[0].prompt is not None
    for bad in ("*", "0.0.0.0/0", "203.0.113.0/24, 198.51.100.0/24"):
        assert build_edits(typed[0], f, engine, value=bad) == [], bad
    new = _apply(engine, path, typed[0], f, "203.0.113.0/24")
    assert '    source_address_prefix      = "203.0.113.0/24" # anyone, for now\n' in new
    assert new.count('    source_address_prefix      = "*"\n') == 1  # the HTTPS rule is not this check's
    assert _result(engine, path, "CKV_AZURE_10", f.resource) == {Result.PASSED}
    assert build_edits(typed[0], f, engine, value="203.0.113.0/24") == []


def test_nsg_rule_with_a_list_of_prefixes_is_left_to_the_developer(tmp_path: Path) -> None:
    path = _copy("CKV_AZURE_10", tmp_path)
    path.write_text(path.read_text().replace('source_address_prefix      = "*" # anyone, for now',
                                             'source_address_prefixes    = ["*"]'))
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AZURE_10")
    assert _local(engine, f) == []


def test_egress_open_over_ipv6_too_is_not_offered(tmp_path: Path) -> None:
    # terraform-aws-eks's remote_access group: an IPv4 range would leave ::/0 open, the check still fails
    path = _copy("CKV_AWS_382", tmp_path)
    path.write_text(path.read_text().replace('  cidr_blocks       = ["0.0.0.0/0"]\n',
                                             '  cidr_blocks       = ["0.0.0.0/0"]\n  ipv6_cidr_blocks  = ["::/0"]\n'))
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_AWS_382")
    assert _local(engine, f) == []
