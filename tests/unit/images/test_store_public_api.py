"""The registry client, pusher, archive loader and builder use only ImageStore's public methods."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

from runtime.images.store import ImageStore
from tests.support.tarbuild import Entry, make_tar, sha256

RUNTIME = Path(__file__).resolve().parents[3] / "runtime"
CALLERS = [RUNTIME / "images" / name for name in ("pull.py", "push.py", "archive.py")] + sorted(
    (RUNTIME / "images" / "build").glob("*.py"))


def _private_store_uses(path: Path) -> list[str]:
    """``store._x`` / ``self.store._x`` attribute uses (dunders aside)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
        if name == "store":
            found.append(f"{path.name}:{node.lineno}: store.{node.attr}")
    return found


def test_no_caller_reaches_into_the_store() -> None:
    assert [use for path in CALLERS for use in _private_store_uses(path)] == []


def _pulled(store: ImageStore, ref_tag: str | None) -> str:
    layer = make_tar([Entry("etc/os-release", data=b"ID=pulled\n")])
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": sha256(config), "size": len(config)},
                           "layers": [{"digest": sha256(layer), "size": len(layer)}]}, indent=3).encode()
    with store.staging() as staging:
        staged = store.stage_layer(staging, io.BytesIO(layer), expected_digest=sha256(layer))
        return store.publish_pulled(staging, config, [staged], manifest=manifest, tag=ref_tag,
                                    repo_digest=f"docker.io/me/app@{sha256(manifest)}")


def test_publish_pulled_keeps_the_registry_manifest_and_records_tag_and_digest(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "root")
    image_id = _pulled(store, "docker.io/me/app:1")
    info = store.resolve("me/app:1")
    assert info.id == image_id and info.tags == ["docker.io/me/app:1"]
    (repo_digest,) = info.digests
    assert repo_digest.startswith("docker.io/me/app@sha256:")
    manifest_digest = repo_digest.split("@", 1)[1]
    assert b'   "config"' in store.blobs.read_bytes(manifest_digest)  # stored byte for byte, indentation too
    (layer_dir,) = store.rootfs_layers(image_id)
    assert (layer_dir / "etc/os-release").read_text() == "ID=pulled\n"


def test_add_repo_digest_after_a_push(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "root")
    image_id = _pulled(store, None)
    pushed = "registry.local:5000/me/app@sha256:" + "1" * 64
    assert store.add_repo_digest(image_id, pushed) is True
    assert store.add_repo_digest(image_id, pushed) is True  # idempotent: recorded once
    assert store.resolve(image_id).digests.count(pushed) == 1 and len(store.resolve(image_id).digests) == 2
    assert store.add_repo_digest("sha256:" + "2" * 64, pushed) is False  # gone: nothing to record
