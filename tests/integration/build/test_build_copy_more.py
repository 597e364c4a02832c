"""COPY/ADD details (--exclude, --parents, ADD of a URL), RUN --mount=type=bind, heredoc scripts, --platform."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from runtime.images.build.dockerfile import DockerfileError
from tests.integration.build.conftest import Builder


@pytest.fixture
def http_file() -> Iterator[str]:
    """A one-file HTTP server on loopback (the builder downloads on the host side)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = b"downloaded content\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/files/tool.sh"
    finally:
        server.shutdown()
        server.server_close()


def test_copy_exclude_parents_add_url_and_bind_mount(builder: Builder, http_file: str) -> None:
    builder.write({"app/a.py": "a", "app/b.txt": "b", "app/sub/c.py": "c", "conf/x/settings.ini": "s",
                   "data/big.bin": "payload\n"})
    built = builder.build(
        "FROM busybox:latest\n"
        "COPY --exclude=*.txt app/ /app/\n"
        "COPY --parents conf/x/settings.ini /etc/\n"
        f"ADD {http_file} /usr/local/bin/\n"
        "RUN --mount=type=bind,source=data,target=/mnt/data cp /mnt/data/big.bin /copied.bin\n"
        "RUN <<EOF\n#!/bin/busybox awk -f\nBEGIN { print \"from awk\" > \"/awk.txt\" }\nEOF\n")
    image = built.info.id
    view = builder.view(image)
    assert view.listdir("/app") == ["a.py", "sub"]
    assert builder.read(image, "/app/sub/c.py") == "c"
    assert builder.read(image, "/etc/conf/x/settings.ini") == "s"
    assert builder.read(image, "/usr/local/bin/tool.sh") == "downloaded content\n"
    assert builder.mode(image, "/usr/local/bin/tool.sh") == (0o600, 0, 0)
    assert builder.read(image, "/copied.bin") == "payload\n"
    assert view.lstat("/mnt/data/big.bin") is None  # the bind mount is not part of the layer
    assert builder.read(image, "/awk.txt") == "from awk\n"  # a heredoc with a shebang runs its interpreter


def test_from_platform(builder: Builder) -> None:
    from runtime.images.config import host_architecture

    ok = builder.build(f"FROM --platform=linux/{host_architecture()} busybox:latest\nLABEL p=1\n")
    assert ok.info.config.labels == {"p": "1"}
    auto = builder.build("FROM --platform=$BUILDPLATFORM busybox:latest\nARG TARGETARCH\nLABEL p=2 a=$TARGETARCH "
                         "undeclared=${BUILDOS:-unset}\n")
    assert auto.info.config.labels == {"p": "2", "a": host_architecture(), "undeclared": "unset"}
    other = "arm64" if host_architecture() != "arm64" else "amd64"
    with pytest.raises(DockerfileError, match="builds only for this host's platform") as err:
        builder.build(f"FROM --platform=linux/{other} busybox:latest\n")
    assert err.value.line == 1


def test_symlinks_cannot_lead_writes_out_of_the_layer(tmp_path) -> None:
    import io
    import shutil
    import tarfile

    from runtime.errors import BuildError
    from runtime.images.build.copy_step import Item, LayerWriter

    outside = tmp_path / "outside"
    outside.mkdir()
    # A hostile archive: a symlink to a host directory, then a file "through" it.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        link = tarfile.TarInfo("evil")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        tar.addfile(link)
        data = b"pwned"
        member = tarfile.TarInfo("evil/file")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    archive = tmp_path / "evil.tar"
    archive.write_bytes(buf.getvalue())
    staging = tmp_path / "layer"
    staging.mkdir()
    writer = LayerWriter(staging, None, None, None, lambda _m: None)
    writer.extract_archive(archive, "/opt")
    assert list(outside.iterdir()) == []  # the symlink on the path was replaced by a directory of the layer
    assert (staging / "opt" / "evil" / "file").read_bytes() == b"pwned"
    # A symlink on the way to a new file is replaced by a directory too...
    (staging / "opt" / "sneaky").symlink_to(outside)
    writer.add(Item(dest="/opt/sneaky/x", host_path=None, st=None, content=b"x"))
    assert (staging / "opt" / "sneaky").is_dir() and not (staging / "opt" / "sneaky").is_symlink()
    # ...and one that appears under a directory the writer already made is refused.
    shutil.rmtree(staging / "opt" / "evil")
    (staging / "opt" / "evil").symlink_to(outside)
    with pytest.raises(BuildError, match="leads outside"):
        writer.add(Item(dest="/opt/evil/y", host_path=None, st=None, content=b"y"))
    assert list(outside.iterdir()) == []

    # Two COPY sources: the first puts a symlink where the second has a directory: it becomes a directory.
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").symlink_to(outside)
    (src / "real").mkdir()
    (src / "real" / "f").write_text("x")
    writer = LayerWriter(staging, None, None, None, lambda _m: None)
    writer.add(Item(dest="/dst/a", host_path=src / "a", st=(src / "a").lstat()))
    writer.add(Item(dest="/dst/a", host_path=src / "real", st=(src / "real").lstat()))
    writer.add(Item(dest="/dst/a/f", host_path=src / "real" / "f", st=(src / "real" / "f").lstat()))
    assert (staging / "dst" / "a").is_dir() and not (staging / "dst" / "a").is_symlink()
    assert list(outside.iterdir()) == []
