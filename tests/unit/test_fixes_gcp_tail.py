"""terragoat's GCP resources (fixes/gcp_tail.py): PostgreSQL flags, versions per engine, typed values, fix-all.

Every fix here is also applied and re-checked by tests/unit/test_fixes.py::test_fix_makes_check_pass on its
fixture; these tests look at what the user gets: the text the fix writes, the choices offered, the typed
values refused, and Checkov (in-process) passing the check afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixkit import apply as _apply
from fixkit import failed as _failed
from fixkit import failing as _failing
from fixkit import graph as _graph
from fixkit import offers as _local
from fixkit import write as _write

from tfguard.engine import Engine
from tfguard.fixes import build_edits, example_value, fix_all_edits
from tfguard.fixes.textops import apply_text_edits
from tfguard.model import Result


def _results(engine: Engine, path: Path, check_id: str) -> set[Result]:
    return {f.result for f in _graph(engine, path) if f.check_id == check_id}


# --------------------------------------------------------------------------- PostgreSQL database flags

_POSTGRES = '''resource "google_sql_database_instance" "orders" {
  name             = "orders"
  database_version = "POSTGRES_15"
  region           = "europe-west1"

  settings {
    tier = "db-custom-2-7680"

    database_flags {
      name  = "max_connections"
      value = "200"
    }
    database_flags {
      name  = "log_statement"
      value = "none" # too quiet
    }

    backup_configuration {
      enabled = true
    }
  }
}
'''

_FLAG_CHECKS = ("CKV_GCP_51", "CKV_GCP_52", "CKV_GCP_53", "CKV_GCP_54", "CKV2_GCP_13", "CKV_GCP_109",
                "CKV_GCP_111", "CKV_GCP_108", "CKV_GCP_110")


def test_flag_block_is_added_after_the_existing_flags(tmp_path: Path) -> None:
    path = _write(tmp_path, _POSTGRES)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_GCP_52")
    [offer] = _local(engine, f)
    assert offer.safe
    assert offer.title == 'Fix CKV_GCP_52: set the database flag log_connections to "on" (database_flags)'
    new = _apply(engine, path, offer, f)
    assert new == _POSTGRES.replace(
        '      value = "none" # too quiet\n    }\n',
        '      value = "none" # too quiet\n    }\n    database_flags {\n      name  = "log_connections"\n'
        '      value = "on"\n    }\n')
    assert _results(engine, path, "CKV_GCP_52") == {Result.PASSED}


def test_existing_flag_gets_its_value_not_a_second_block(tmp_path: Path) -> None:
    path = _write(tmp_path, _POSTGRES)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_GCP_111")
    new = _apply(engine, path, _local(engine, f)[0], f)
    assert new == _POSTGRES.replace('value = "none" # too quiet', 'value = "ddl" # too quiet')
    assert new.count('name  = "log_statement"') == 1
    assert _results(engine, path, "CKV_GCP_111") == {Result.PASSED}


def test_fix_all_adds_each_safe_flag_once_and_leaves_pgaudit_and_hostname(tmp_path: Path) -> None:
    path = _write(tmp_path, _POSTGRES)
    engine = Engine(str(tmp_path))
    findings = _graph(engine, path)
    before = _failed(engine, path)
    assert {c for c, _ in before} >= set(_FLAG_CHECKS)
    edits = fix_all_edits(str(path), findings, engine)
    new = apply_text_edits(path.read_text(), edits)
    engine.set_overlay(str(path), new)
    for flag in ("log_checkpoints", "log_connections", "log_disconnections", "log_lock_waits", "log_duration",
                 "log_min_error_statement"):
        assert new.count(f'name  = "{flag}"') == 1, flag
    assert "log_hostname" not in new and "cloudsql.enable_pgaudit" not in new  # not safe: offered one by one
    after = _failed(engine, path)
    assert not {c for c, _ in after} & (set(_FLAG_CHECKS) - {"CKV_GCP_108", "CKV_GCP_110"})
    assert after - before == set()
    assert fix_all_edits(str(path), _graph(engine, path), engine) == []


def test_flags_generated_by_dynamic_are_left_to_the_developer(tmp_path: Path) -> None:
    path = _write(tmp_path, _POSTGRES.replace(
        '    database_flags {\n      name  = "max_connections"\n      value = "200"\n    }\n',
        '    dynamic "database_flags" {\n      for_each = var.flags\n      content {\n'
        '        name  = database_flags.key\n        value = database_flags.value\n      }\n    }\n')
        + 'variable "flags" {\n  type    = map(string)\n  default = {}\n}\n')
    engine = Engine(str(tmp_path))
    assert _local(engine, _failing(engine, path, "CKV_GCP_51")) == []


# --------------------------------------------------------------------------- major version per engine


@pytest.mark.parametrize(("old", "new"), [
    ("POSTGRES_11", "POSTGRES_18"),
    ("MYSQL_5_6", "MYSQL_8_0"),
    ("SQLSERVER_2017_STANDARD", "SQLSERVER_2022_STANDARD"),
    ("SQLSERVER_2019_ENTERPRISE", "SQLSERVER_2022_ENTERPRISE"),
], ids=["postgres", "mysql", "sqlserver-standard", "sqlserver-enterprise"])
def test_major_version_follows_the_engine_and_edition(old: str, new: str, tmp_path: Path) -> None:
    text = _POSTGRES.replace('"POSTGRES_15"', f'"{old}"')
    path = _write(tmp_path, text)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_GCP_79")
    [offer] = _local(engine, f)
    assert not offer.safe  # a major upgrade: the application must support it
    assert _apply(engine, path, offer, f) == text.replace(f'"{old}"', f'"{new}"')
    assert _results(engine, path, "CKV_GCP_79") == {Result.PASSED}


def test_major_version_from_a_variable_is_not_offered(tmp_path: Path) -> None:
    path = _write(tmp_path, _POSTGRES.replace('"POSTGRES_15"', "var.version")
                  + 'variable "version" {\n  type    = string\n  default = "POSTGRES_11"\n}\n')
    engine = Engine(str(tmp_path))
    assert _local(engine, _failing(engine, path, "CKV_GCP_79")) == []


# --------------------------------------------------------------------------- typed values are validated

_FIREWALL = '''resource "google_compute_firewall" "legacy" {
  name          = "legacy"
  network       = "default"
  source_ranges = ["0.0.0.0/0", "198.51.100.0/24"]

  allow {
    protocol = "tcp"
    ports    = ["3389"]
  }
}
'''
_CLUSTER = '''resource "google_container_cluster" "apps" {
  name               = "apps"
  location           = "europe-west1"
  initial_node_count = 1

  master_authorized_networks_config {
    cidr_blocks {
      cidr_block = "0.0.0.0/0"
    }
  }
}
'''
_SQL_PUBLIC = '''resource "google_sql_database_instance" "app" {
  name             = "app"
  database_version = "POSTGRES_15"

  settings {
    tier = "db-f1-micro"
    ip_configuration {
      ipv4_enabled = true
      authorized_networks {
        value = "0.0.0.0/0"
      }
    }
  }
}
'''
_DATASET = '''resource "google_bigquery_dataset" "events" {
  dataset_id = "events"
}
'''
_MEMBER = '''resource "google_storage_bucket_iam_member" "public" {
  bucket = "example-site"
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}
'''


@pytest.mark.parametrize(("check_id", "text", "bad", "good", "written"), [
    ("CKV_GCP_3", _FIREWALL, ["0.0.0.0/0", "10.0.0.0/33", "office", "10.0.0.0/8, 10.1.0.0/16"], "10.0.0.0/8",
     'source_ranges = ["10.0.0.0/8", "198.51.100.0/24"]'),
    ("CKV_GCP_18", _CLUSTER, ["0.0.0.0/0", "203.0.113.0"], "203.0.113.0/24", 'cidr_block = "203.0.113.0/24"'),
    ("CKV_GCP_11", _SQL_PUBLIC, ["1.2.3.0/0", "any"], "203.0.113.0/24", 'value = "203.0.113.0/24"'),
    ("CKV_GCP_65", _CLUSTER, ["admins@example.com", "gke-security-groups"], "gke-security-groups@example.org",
     'security_group = "gke-security-groups@example.org"'),
    ("CKV_GCP_60", _SQL_PUBLIC, ["default", "projects/p/networks/n"], "projects/acme-prod/global/networks/core",
     'private_network = "projects/acme-prod/global/networks/core"'),
    ("CKV_GCP_81", _DATASET, ["my-key", "projects/p/cryptoKeys/k", "google_kms_crypto_key.k.name"],
     "google_kms_crypto_key.bq.id", "kms_key_name = google_kms_crypto_key.bq.id"),
    ("CKV_GCP_28", _MEMBER, ["allAuthenticatedUsers", "alice@example.com", 'user:"x"'], "user:alice@example.com",
     'member = "user:alice@example.com"'),
    ("CKV_GCP_62", _DATASET.replace("google_bigquery_dataset", "google_storage_bucket").replace("dataset_id", "name"),
     ["Logs", "gs://logs", "a"], "example-access-logs", 'log_bucket = "example-access-logs"'),
], ids=["firewall-cidr", "control-plane-cidr", "sql-authorized-network", "gke-security-group", "sql-private-network",
        "bigquery-key", "bucket-member", "log-bucket"])
def test_typed_values_are_validated(check_id: str, text: str, bad: list[str], good: str, written: str,
                                    tmp_path: Path) -> None:
    path = _write(tmp_path, text)
    engine = Engine(str(tmp_path))
    before = _failed(engine, path)
    f = _failing(engine, path, check_id)
    typed = next(o for o in _local(engine, f) if o.prompt is not None)
    assert not typed.safe and example_value(typed) is not None
    for value in bad:
        assert build_edits(typed, f, engine, value=value) == [], value
    new = _apply(engine, path, typed, f, good)
    assert written in new
    assert _results(engine, path, check_id) == {Result.PASSED}
    assert _failed(engine, path) - before == set()
    assert build_edits(typed, f, engine, value=good) == []


def test_firewall_fix_keeps_the_other_ranges_and_passes_every_port_check(tmp_path: Path) -> None:
    path = _write(tmp_path, _FIREWALL.replace('["3389"]', '["20-21", "3306", "3389"]'))
    engine = Engine(str(tmp_path))
    before = _failed(engine, path)
    assert {"CKV_GCP_3", "CKV_GCP_75", "CKV_GCP_77", "CKV_GCP_88"} <= {c for c, _ in before}
    f = _failing(engine, path, "CKV_GCP_88")
    new = _apply(engine, path, _local(engine, f)[0], f, "198.51.100.0/24")
    assert 'source_ranges = ["198.51.100.0/24"]\n' in new  # the typed range was already there: listed once
    for check_id in ("CKV_GCP_3", "CKV_GCP_75", "CKV_GCP_77", "CKV_GCP_88"):
        assert _results(engine, path, check_id) == {Result.PASSED}, check_id


# --------------------------------------------------------------------------- choices from the module

_BIGQUERY_PUBLIC = '''resource "google_bigquery_dataset" "shared" {
  dataset_id = "shared"

  access {
    role          = "OWNER"
    user_by_email = "owner@example.com"
  }
  access {
    special_group = "allUsers"
    role          = "WRITER"
  }
}
'''


def test_public_dataset_access_goes_to_the_project_members_of_that_role(tmp_path: Path) -> None:
    path = _write(tmp_path, _BIGQUERY_PUBLIC)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_GCP_15")
    offers = _local(engine, f)
    assert [(o.value, o.prompt is not None) for o in offers] == [("project", False), (None, True)]
    new = _apply(engine, path, offers[0], f, offers[0].value)
    assert new == _BIGQUERY_PUBLIC.replace('special_group = "allUsers"', 'special_group = "projectWriters"')
    assert _results(engine, path, "CKV_GCP_15") == {Result.PASSED}


def test_public_dataset_access_to_a_typed_group(tmp_path: Path) -> None:
    path = _write(tmp_path, _BIGQUERY_PUBLIC)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_GCP_15")
    typed = _local(engine, f)[1]
    assert build_edits(typed, f, engine, value="not an address") == []
    new = _apply(engine, path, typed, f, "data-team@example.com")
    assert '    group_by_email = "data-team@example.com"\n    role          = "WRITER"\n' in new
    assert _results(engine, path, "CKV_GCP_15") == {Result.PASSED}


def test_private_network_and_keys_are_chosen_from_the_module(tmp_path: Path) -> None:
    path = _write(tmp_path, _SQL_PUBLIC + '''
resource "google_compute_network" "core" {
  name = "core"
}

resource "google_kms_crypto_key" "disks" {
  name     = "disks"
  key_ring = "projects/p/locations/europe-west1/keyRings/r"
}

resource "google_compute_disk" "data" {
  name = "data"
  zone = "europe-west1-b"
}
''')
    engine = Engine(str(tmp_path))
    sql = _failing(engine, path, "CKV_GCP_60")
    assert [o.value for o in _local(engine, sql)] == ["google_compute_network.core.id", None]
    disk = _failing(engine, path, "CKV_GCP_37")
    offers = _local(engine, disk)
    assert [o.value for o in offers] == ["google_kms_crypto_key.disks.id", None]
    new = _apply(engine, path, offers[0], disk, offers[0].value)
    assert ('resource "google_compute_disk" "data" {\n  name = "data"\n  zone = "europe-west1-b"\n'
            "  disk_encryption_key {\n    kms_key_self_link = google_kms_crypto_key.disks.id\n  }\n}\n") in new
    assert _results(engine, path, "CKV_GCP_37") == {Result.PASSED}


# --------------------------------------------------------------------------- GKE


def test_vpc_native_cluster_not_offered_for_a_routes_based_one(tmp_path: Path) -> None:
    path = _write(tmp_path, _CLUSTER.replace('  initial_node_count = 1\n',
                                             '  initial_node_count = 1\n  networking_mode    = "ROUTES"\n'))
    engine = Engine(str(tmp_path))
    assert _local(engine, _failing(engine, path, "CKV_GCP_23")) == []


def test_vpc_native_cluster_gets_an_empty_ip_allocation_policy(tmp_path: Path) -> None:
    path = _write(tmp_path, _CLUSTER)
    engine = Engine(str(tmp_path))
    f = _failing(engine, path, "CKV_GCP_23")
    [offer] = _local(engine, f)
    assert not offer.safe  # re-creates the cluster
    assert _apply(engine, path, offer, f) == _CLUSTER[:-2] + "  ip_allocation_policy {}\n}\n"
    assert _results(engine, path, "CKV_GCP_23") == {Result.PASSED}
