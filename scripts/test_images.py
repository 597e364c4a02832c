"""Build (once) the cached test root filesystems used by the root test tiers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.images import ensure_busybox_rootfs, ensure_debian_rootfs  # noqa: E402


def main() -> int:
    if os.geteuid() != 0:
        print("test images: not root; skipping (root tiers cannot run anyway)")
        return 0
    for name, build in (("busybox", ensure_busybox_rootfs), ("debian bookworm minbase", ensure_debian_rootfs)):
        started = time.monotonic()
        path = build()
        print(f"test images: {name} at {path} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
