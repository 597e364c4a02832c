"""SHA-256 for the CLI's start-up paths, without importing ``hashlib``.

Why: ``hashlib`` loads OpenSSL's bindings (``_hashlib``), 2-4 ms of every CLI process, while those paths hash
only short data (the root's instance tag, the load cache's keys, compose's config hash, chain ids, image
configs and manifests up to 256 KiB: runtime/images/blobs.py ``digest_bytes``). The interpreter's own
SHA-256 module gives the same digests for a fraction of that. Big data (layers, blobs streamed or read
from files) keeps using ``hashlib``, whose OpenSSL code is the faster one there.
"""

from __future__ import annotations

try:
    from _sha256 import sha256  # CPython 3.11
except ImportError:  # pragma: no cover - other interpreters and versions (3.12 has it in _sha2)
    try:
        from _sha2 import sha256  # type: ignore[no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment]

__all__ = ["sha256"]
