"""CKV_AWS_144 (S3 cross-region replication): a companion replication configuration, with values typed.

Replication needs two things only the developer knows: the destination bucket (in another region)
and the IAM role S3 assumes to copy the objects. Neither is invented: the fix asks for both, typed
as one value ``<destination bucket> <role>`` (space or comma separated, either order), each an ARN
(``arn:aws:s3:::backup``, ``arn:aws:iam::111122223333:role/s3-replication``) or a reference to a
resource of the module (``aws_s3_bucket.replica.arn``, ``aws_iam_role.replication.arn``).

The companion ``aws_s3_bucket_replication_configuration`` refers to the bucket (``bucket =
aws_s3_bucket.x.id``) with one enabled rule replicating every object: Checkov's graph check wants a
connected replication configuration whose ``rule.*.status`` is ``Enabled``. Not offered for the
inline (pre-v4 provider) ``replication_configuration`` block, nor for a bucket with ``count`` or
``for_each`` (the companion would need the same).

Through a module call there is no fix: terraform-aws-s3-bucket has the companion already, behind a
``dynamic "rule"`` that Checkov does not render (see docs/fixes.md, "Companion resources through
module calls (measured)").
"""

from __future__ import annotations

import re

from tfguard.fixes.registry import choice
from tfguard.fixes.textops import Companion, Step
from tfguard.hcl.blocks import Block

_BUCKET_ARN = re.compile(r"^arn:aws[\w-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_REF = re.compile(r"^aws_s3_bucket\.[A-Za-z_][\w-]*\.arn$")
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ROLE_REF = re.compile(r"^aws_iam_role\.[A-Za-z_][\w-]*\.arn$")
_SEP = re.compile(r"[\s,]+")

PROMPT = ("Destination bucket and replication role, e.g. arn:aws:s3:::backup-bucket "
          "arn:aws:iam::111122223333:role/s3-replication (ARNs or aws_s3_bucket.x.arn aws_iam_role.y.arn)")
EXAMPLE = "arn:aws:s3:::replica-bucket arn:aws:iam::111122223333:role/s3-replication"


def _hcl(value: str) -> str:
    """A reference stays an expression; an ARN becomes a string literal."""
    return value if value.startswith(("aws_s3_bucket.", "aws_iam_role.")) else f'"{value}"'


def parse_targets(value: str) -> tuple[str, str] | None:
    """``(destination, role)`` as HCL expressions from the typed value; None when it is not acceptable."""
    if "\n" in value or '"' in value:
        return None
    tokens = [t for t in _SEP.split(value.strip()) if t]
    if len(tokens) != 2:
        return None
    buckets = [t for t in tokens if _BUCKET_ARN.match(t) or _BUCKET_REF.match(t)]
    roles = [t for t in tokens if _ROLE_ARN.match(t) or _ROLE_REF.match(t)]
    if len(buckets) != 1 or len(roles) != 1:
        return None
    return _hcl(buckets[0]), _hcl(roles[0])


def _replication(block: Block, text: str, value: str) -> list[Step] | None:
    targets = parse_targets(value)
    if targets is None or block.item(("replication_configuration",)) is not None:
        return None
    destination, role = targets
    if destination == f"aws_s3_bucket.{block.labels[1] if len(block.labels) > 1 else ''}.arn":
        return None  # replicating a bucket into itself
    return [Companion("aws_s3_bucket_replication_configuration", (
        "  bucket = {ref}",
        f"  role   = {role}",
        "",
        "  rule {",
        '    id     = "replicate-all"',
        '    status = "Enabled"',
        "",
        "    destination {",
        f"      bucket = {destination}",
        "    }",
        "  }",
    ), comment="S3 replicates only from and to versioned buckets: enable versioning on both (CKV_AWS_21)")]


choice("CKV_AWS_144", "aws_s3_bucket", "add an aws_s3_bucket_replication_configuration", _replication,
       prompt=PROMPT, example=EXAMPLE)
