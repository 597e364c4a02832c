"""The conformance suite's two helper images, built from local parts: the Debian test image's layers plus
one layer holding tests/support/echo_server/server.py, with the command set per image."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

SERVER_IMAGE = "composespec/conformance-tests-server"
CLIENT_IMAGE = "composespec/conformance-tests-client"
SOURCE = Path(__file__).resolve().parent / "echo_server" / "server.py"


def build_echo_images(root: Path, base_ref: str) -> tuple[str, str]:
    from runtime.images.store import ImageStore

    store = ImageStore(root)
    base = store.resolve(base_ref)
    base_layers = [layer["digest"] for layer in store.manifest_json(base.id)["layers"]]
    work = Path(tempfile.mkdtemp(prefix="hoist-echo-"))
    try:
        (work / "srv").mkdir()
        shutil.copy(SOURCE, work / "srv" / "server.py")
        _, blob = store.commit_layer(work, overlay_whiteouts=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for ref, argv in ((SERVER_IMAGE, ["python3", "/srv/server.py"]),
                      (CLIENT_IMAGE, ["python3", "/srv/server.py", "client"])):
        config = store.image_config_json(base.id)
        config.setdefault("config", {})
        config["config"]["Cmd"] = argv
        config["config"]["Entrypoint"] = None
        config["config"]["ExposedPorts"] = {"8080/tcp": {}}
        config.pop("history", None)
        store.write_image(config, [*base_layers, blob], ref)
    return SERVER_IMAGE, CLIENT_IMAGE
