"""tfguard: Terraform security checks (Checkov's, in-process and offline) as you type and in CI."""

__version__ = "0.1.0"
