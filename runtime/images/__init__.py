"""The image store: OCI layout, layers unpacked per chain id, references, archives (docker/OCI).

Import submodules directly (``from runtime.images.store import ImageStore``); this package stays empty so
``import runtime.images`` costs nothing.
"""
