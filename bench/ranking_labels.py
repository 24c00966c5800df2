"""A hand-labelled list of 30 findings (from terragoat's ``terraform/aws``, copied under ``envs/prod`` and
``envs/dev``) and the rubric that orders them. Fixed inputs: check id, resource, path and the
resource's exposure-relevant configuration as Checkov parses it.

Rubric (most urgent first; a smaller tier is more urgent, whatever the vendor severity):

1. reachable from the internet on an administrative port, or a data store publicly accessible;
2. other public exposure (public IPs by default, missing public access blocks, default SG open);
3. IAM wildcards, privilege escalation, credentials exposure, admin rights, missing IAM controls;
4. data protection (encryption, backups, deletion protection) on a resource that is publicly reachable;
5. data protection on a private resource;
6. logging and monitoring;
7. hygiene and conventions.

Within a tier a prod finding comes before a dev one. Two findings of the same tier and
environment are not ordered by the rubric (their pairs are not counted).

:func:`pairwise_agreement` is the share of ordered pairs (different tier, or same tier and a
different environment) that a ranking puts in the rubric's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfguard.model import Finding, Result, Span
from tfguard.priority import PriorityConfig, assess, rank

ROOT = "/bench"

OPEN_WEB_NODE: dict[str, Any] = {"ingress": [
    {"from_port": [22], "to_port": [22], "protocol": ["tcp"], "cidr_blocks": [["0.0.0.0/0"]]},
    {"from_port": [80], "to_port": [80], "protocol": ["tcp"], "cidr_blocks": [["0.0.0.0/0"]]}]}
PUBLIC_DB: dict[str, Any] = {"publicly_accessible": [True]}
PUBLIC_SUBNET: dict[str, Any] = {"map_public_ip_on_launch": [True]}


@dataclass(frozen=True)
class Label:
    """One labelled finding: what it is, where, and its rubric tier."""

    check_id: str
    resource: str
    file: str  # relative to ROOT
    tier: int
    conf: dict[str, Any] | None = None

    @property
    def env(self) -> int:
        """0 for prod, 1 for dev (prod first within a tier)."""
        return 0 if "/prod/" in f"/{self.file}" else 1

    def finding(self) -> Finding:
        """The raw finding (as Checkov reports it, before ranking)."""
        return Finding(check_id=self.check_id, check_name="", result=Result.FAILED, file=f"{ROOT}/{self.file}",
                       resource=self.resource, line_range=(1, 10), span=Span.of(0, 0, 0, 1))


P, D = "envs/prod/terragoat/terraform/aws", "envs/dev/terragoat/terraform/aws"

LABELS: tuple[Label, ...] = (
    Label("CKV_AWS_24", "aws_security_group.web-node", f"{P}/ec2.tf", 1, OPEN_WEB_NODE),
    Label("CKV_AWS_17", "aws_db_instance.default", f"{P}/db-app.tf", 1, PUBLIC_DB),
    Label("CKV_AWS_24", "aws_security_group.web-node", f"{D}/ec2.tf", 1, OPEN_WEB_NODE),
    Label("CKV_AWS_260", "aws_security_group.web-node", f"{P}/ec2.tf", 2, OPEN_WEB_NODE),
    Label("CKV_AWS_130", "aws_subnet.web_subnet", f"{P}/ec2.tf", 2, PUBLIC_SUBNET),
    Label("CKV2_AWS_6", "aws_s3_bucket.financials", f"{P}/s3.tf", 2),
    Label("CKV2_AWS_12", "aws_vpc.web_vpc", f"{P}/ec2.tf", 2),
    Label("CKV2_AWS_6", "aws_s3_bucket.data", f"{D}/s3.tf", 2),
    Label("CKV_AWS_286", "aws_iam_user_policy.userpolicy", f"{P}/iam.tf", 3),
    Label("CKV_AWS_287", "aws_iam_role_policy.ec2policy", f"{P}/db-app.tf", 3),
    Label("CKV_AWS_283", "aws_iam_policy_document.policy", f"{P}/es.tf", 3),
    Label("CKV_AWS_273", "aws_iam_user.user", f"{P}/iam.tf", 3),
    Label("CKV_AWS_286", "aws_iam_user_policy.userpolicy", f"{D}/iam.tf", 3),
    Label("CKV_AWS_16", "aws_db_instance.default", f"{P}/db-app.tf", 4, PUBLIC_DB),
    Label("CKV_AWS_293", "aws_db_instance.default", f"{P}/db-app.tf", 4, PUBLIC_DB),
    Label("CKV_AWS_133", "aws_db_instance.default", f"{D}/db-app.tf", 4, PUBLIC_DB),
    Label("CKV_AWS_3", "aws_ebs_volume.web_host_storage", f"{P}/ec2.tf", 5),
    Label("CKV_AWS_145", "aws_s3_bucket.financials", f"{P}/s3.tf", 5),
    Label("CKV_AWS_139", "aws_rds_cluster.app1-rds-cluster", f"{P}/rds.tf", 5),
    Label("CKV_AWS_21", "aws_s3_bucket.data", f"{P}/s3.tf", 5),
    Label("CKV_AWS_3", "aws_ebs_volume.web_host_storage", f"{D}/ec2.tf", 5),
    Label("CKV_AWS_101", "aws_neptune_cluster.default", f"{P}/neptune.tf", 6),
    Label("CKV_AWS_18", "aws_s3_bucket.financials", f"{P}/s3.tf", 6),
    Label("CKV2_AWS_11", "aws_vpc.web_vpc", f"{P}/ec2.tf", 6),
    Label("CKV_AWS_126", "aws_instance.web_host", f"{D}/ec2.tf", 6),
    Label("CKV_AWS_23", "aws_security_group.web-node", f"{P}/ec2.tf", 7, OPEN_WEB_NODE),
    Label("CKV_AWS_135", "aws_instance.web_host", f"{P}/ec2.tf", 7),
    Label("CKV_AWS_117", "aws_lambda_function.analysis_lambda", f"{P}/lambda.tf", 7),
    Label("CKV_AWS_163", "aws_ecr_repository.repository", f"{P}/ecr.tf", 7),
    Label("CKV_AWS_23", "aws_security_group.web-node", f"{D}/ec2.tf", 7, OPEN_WEB_NODE),
)


def ranked(config: PriorityConfig) -> list[Label]:
    """The labelled findings in the order ``config`` ranks them."""
    assessed = {id(label): assess(label.finding(), label.conf, config, ROOT) for label in LABELS}
    order = rank(assessed.values())
    by_finding = {id(assessed[id(label)]): label for label in LABELS}
    return [by_finding[id(f)] for f in order]


def pairwise_agreement(config: PriorityConfig) -> float:
    """Share of the rubric's ordered pairs that ``config``'s ranking keeps in order."""
    position = {id(label): i for i, label in enumerate(ranked(config))}
    agree = total = 0
    for a in LABELS:
        for b in LABELS:
            if (a.tier, a.env) < (b.tier, b.env):
                total += 1
                agree += position[id(a)] < position[id(b)]
    return agree / total
