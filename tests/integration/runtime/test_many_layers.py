"""An image of 50 layers runs: overlay's lowerdir= must fit in one page of mount options."""

from __future__ import annotations

from runtime.api import ContainerSpec
from tests.integration.runtime.conftest import output

LAYERS = 50


def test_a_fifty_layer_image_runs(engine, busybox_image, unique_id, tmp_path):
    store = engine.images
    base = store.resolve(busybox_image)
    digests = list(base.layers)  # imported layers are stored as plain tars: blob digest == diff id
    for i in range(LAYERS - len(digests)):
        layer = tmp_path / f"layer{i}"
        (layer / "layers").mkdir(parents=True)
        (layer / "layers" / f"{i:02d}").write_text(f"{i}\n")
        digests.append(store.commit_layer(layer, overlay_whiteouts=False)[1])
    tall = store.write_image({"architecture": base.architecture, "os": base.os,
                              "config": {"Cmd": ["sh", "-c", "ls /layers | wc -l; cat /layers/$(ls /layers | tail -n 1)"]}},
                             digests, f"tall{unique_id}:latest")
    assert len(tall.layers) == LAYERS
    name = f"tall{unique_id}"
    engine.container_create(ContainerSpec(name=name, image=f"tall{unique_id}:latest", network_mode="none"))
    engine.container_start(name)
    assert engine.container_wait(name, timeout=30) == 0, engine.container_inspect(name).error
    added = LAYERS - len(base.layers)
    assert output(engine, name).split() == [str(added), str(added - 1)]  # every layer, the top one wins
