"""Services with `build:`: `up` builds `<project>-<service>`, an unchanged `up --build` hits the cache and
recreates nothing, a changed context recreates the service, `down --rmi local` removes the built image."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import Hoist, wait_for


def test_up_build_recreates_only_on_change(hoist_root: Path, busybox_image: str, project_name: str,
                                           tmp_path: Path) -> None:
    from runtime.engine import open_engine

    h = Hoist(hoist_root, tmp_path, project_name)
    (tmp_path / "Dockerfile").write_text(f'FROM {busybox_image}\nCOPY msg.txt /msg.txt\n'
                                         'CMD ["sh", "-c", "cat /msg.txt; exec sleep 1000"]\n')
    (tmp_path / "msg.txt").write_text("v1\n")
    h.write("services:\n  app:\n    build: .\n    network_mode: none\n    init: true\n")
    try:
        r = h("up", "-d")
        assert f"Image {project_name}-app Built" in r.err
        wait_for(lambda: "app-1 | v1" in h("logs", "--no-color").out, what="v1 in the logs")
        first = h.ps()[0]["ID"]
        h("up", "-d", "--build")
        assert h.ps()[0]["ID"] == first  # same image id: nothing recreated
        (tmp_path / "msg.txt").write_text("v2\n")
        r = h("up", "-d", "--build")
        assert f"Container {project_name}-app-1 Recreated" in r.err
        wait_for(lambda: "app-1 | v2" in h("logs", "--no-color").out, what="v2 in the logs")
        h("down", "--rmi", "local")
        assert not open_engine(hoist_root).image_exists(f"{project_name}-app")
    finally:
        h("down", "-t", "1", check=False)
