"""Configuration files a workspace carries.

:mod:`.tfguard` reads ``.tfguard.yaml``; :mod:`.checkov` reads ``.checkov.yaml``.
"""
