"""``volumes_from`` on the real runtime: the consumer sees its source's named volume, anonymous volume, the
image's VOLUME and bind mount, read-only with ``:ro``; ``down -v`` removes every volume once, and nothing
leaks (the hoist_root fixture's leak checker)."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import Hoist, wait_for


def test_a_consumer_reads_its_sources_volumes_read_only(hoist_root: Path, busybox_image: str, project_name: str,
                                                        tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "host.txt").write_text("from the host\n")
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  app:
    build:
      dockerfile_inline: |
        FROM {busybox_image}
        RUN mkdir /vol && echo from-image > /vol/f
        VOLUME /vol
    network_mode: none
    init: true
    volumes:
      - data:/data
      - /cache
      - ./src:/src
    command: ["sh", "-c", "echo from-app > /data/a && echo cached > /cache/c && touch /tmp/ready && exec sleep 1000"]
  reader:
    image: {busybox_image}
    network_mode: none
    init: true
    volumes_from: ["app:ro"]
    command: ["sleep", "1000"]
volumes:
  data: {{}}
""")
    try:
        h("up", "-d", timeout=120)
        wait_for(lambda: h("exec", "-T", "app", "test", "-e", "/tmp/ready", check=False).rc == 0,
                 what="app to write its files")
        for path, text in (("/data/a", "from-app"), ("/cache/c", "cached"), ("/vol/f", "from-image"),
                           ("/src/host.txt", "from the host")):
            assert h("exec", "-T", "reader", "cat", path).out.strip() == text, path
        for path in ("/data/x", "/cache/x", "/vol/x", "/src/x"):
            r = h("exec", "-T", "reader", "touch", path, check=False)
            assert r.rc != 0 and "Read-only file system" in r.err + r.out, (path, r)
        h("exec", "-T", "app", "touch", "/data/x")  # the source's own mounts stay writable
        assert not (tmp_path / "src" / "x").exists()

        def volumes() -> set[str]:
            return set(h("volume", "ls", "-q").out.split())  # the test's own root: only this project's

        before = volumes()
        assert len(before) == 3  # data, app's anonymous /cache and the image's /vol: none made for reader
        h("rm", "-s", "-f", "-v", "reader")  # the consumer's rm -v leaves the volumes it only borrowed
        assert volumes() == before
        assert h("exec", "-T", "app", "cat", "/cache/c").out.strip() == "cached"
        h("down", "-v", "-t", "0")
        assert volumes() == set()
    finally:
        h("down", "-v", "-t", "0", check=False)
