"""Running checks: Checkov's registries and graph (the only package that imports Checkov)."""
