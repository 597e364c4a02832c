"""hoist's container engine: images, containers, networks and volumes on Linux namespaces.

This package never imports ``compose``: it speaks in the spec dataclasses of :mod:`runtime.api` and plain
string labels. Import submodules lazily; ``import runtime`` itself must stay cheap.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
