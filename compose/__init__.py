"""The compose-file side of hoist: files → validated, typed project model → graph → plan → scheduler.

Keep this module cheap to import: the CLI's start-up time depends on it.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
