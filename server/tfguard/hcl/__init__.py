"""Terraform text to top-level blocks with exact ranges, and per-block parsing with Checkov's hcl2."""
