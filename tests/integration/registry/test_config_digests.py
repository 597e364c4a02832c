"""`hoist config --resolve-image-digests` against a real registry: tags pinned to the digest the registry
serves, pinned images normalised, build-only services untouched, an image the registry lacks an error."""

from __future__ import annotations

from pathlib import Path

import yaml

from runtime.images.push import push_image
from runtime.images.store import ImageStore
from tests.support.cli import Hoist
from tests.support.registry_server import RegistryServer


def test_config_pins_images_to_the_registrys_digests(hoist_root: Path, busybox_image: str, registry: RegistryServer,
                                                     unique_id: str, project_name: str, tmp_path: Path) -> None:
    store = ImageStore(hoist_root)
    ref = f"{registry.host}/t{unique_id}/app:1"
    store.tag(busybox_image, ref)
    digest = push_image(store, ref).digest
    h = Hoist(hoist_root, tmp_path, project_name)
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\n")
    h.write(f"""services:
  web:
    image: {ref}
  again:
    image: {ref}
  pinned:
    image: {registry.host}/t{unique_id}/app:old@{digest}
  built:
    build: .
""")
    out = yaml.safe_load(h("config", "--resolve-image-digests").out)
    services = out["services"]
    assert services["web"]["image"] == f"{ref}@{digest}"
    assert services["again"]["image"] == f"{ref}@{digest}"
    assert services["pinned"]["image"] == f"{registry.host}/t{unique_id}/app@{digest}"  # the tag goes, as Docker's
    assert "image" not in services["built"]
    assert h("config", "--images", "--resolve-image-digests").out.splitlines()[0] == f"{ref}@{digest}"
    assert "@sha256:" not in h("config").out.split("pinned")[0]  # without the flag, nothing is resolved

    h.write(f"""services:
  web:
    image: {registry.host}/t{unique_id}/missing:1
""")
    r = h("config", "-q", "--resolve-image-digests", check=False)
    assert r.rc != 0 and f"t{unique_id}/missing" in r.err, r
