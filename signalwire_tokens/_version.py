__version__ = "1.0.0rc1"
"""The version of this package (SemVer; a pre-release such as ``1.0.0rc1`` as PEP 440 spells it)."""
