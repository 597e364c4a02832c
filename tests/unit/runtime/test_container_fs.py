"""commit's config and layer filtering, cp's tar placement rules and the CLI's flags, without root."""

from __future__ import annotations

import argparse
import io
import os
import tarfile
from pathlib import Path

import pytest

from runtime.api import ContainerSpec, Healthcheck, Mount, PortBinding
from runtime.containers.commit import committed_config, created_by
from runtime.containers.fsaccess import CopyError, extract_tar, write_tar
from runtime.images import layers
from runtime.images.build.rootfs_view import RootfsView
from runtime.images.build.run_step import runtime_files, strip_runtime_files
from runtime.images.changes import apply_changes

IMAGE = {"Cmd": ["sh"], "Env": ["PATH=/bin", "A=1"], "Labels": {"img": "1"}, "ExposedPorts": {"80/tcp": {}},
         "WorkingDir": "/", "Shell": ["/bin/sh", "-c"]}


def test_committed_config_is_the_containers_effective_config() -> None:
    spec = ContainerSpec(name="c", image="x", command=["echo", "hi"], env={"B": "2", "A": "3"},
                         working_dir="/srv", user="nobody", labels={"c": "2"}, expose=["53/udp"],
                         ports=[PortBinding(container_port=8080)], stop_signal="SIGINT",
                         mounts=[Mount(type="volume", target="/data"), Mount(type="volume", target="/n", source="v")],
                         healthcheck=Healthcheck(test=["CMD", "true"], interval=5.0, retries=2))
    config = committed_config(IMAGE, spec)
    assert config["Cmd"] == ["echo", "hi"] and "Entrypoint" not in config
    assert config["Env"] == ["PATH=/bin", "A=3", "B=2"]
    assert config["WorkingDir"] == "/srv" and config["User"] == "nobody"
    assert config["Labels"] == {"img": "1", "c": "2"}
    assert set(config["ExposedPorts"]) == {"80/tcp", "53/udp", "8080/tcp"}
    assert config["Volumes"] == {"/data": {}}  # only the anonymous volume, as docker's Config.Volumes
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 5_000_000_000,
                                     "Timeout": 30_000_000_000, "StartInterval": 5_000_000_000, "Retries": 2}
    assert IMAGE["Env"] == ["PATH=/bin", "A=1"]  # the image's config is not touched
    assert created_by(IMAGE, spec) == "echo hi"


def test_an_entrypoint_drops_the_images_cmd_and_changes_apply_last() -> None:
    spec = ContainerSpec(name="c", image="x", entrypoint=["/bin/app"])
    config = committed_config(IMAGE, spec)
    assert config["Entrypoint"] == ["/bin/app"] and config["Cmd"] is None
    assert committed_config(IMAGE, ContainerSpec(name="c", image="x", entrypoint=[]))["Entrypoint"] is None
    changed = apply_changes(committed_config(IMAGE, ContainerSpec(name="c", image="x")), ['CMD ["cat", "/f"]'])
    assert changed["Cmd"] == ["cat", "/f"]
    assert committed_config(IMAGE, None) == IMAGE


def _layer(tmp: Path, files: dict[str, str | None]) -> Path:
    for rel, content in files.items():
        path = tmp / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    return tmp


def test_runtime_files_lists_the_runtimes_own_entries_without_touching_them(tmp_path: Path) -> None:
    image = _layer(tmp_path / "image", {"etc/passwd": "root", "srv": None})
    upper = _layer(tmp_path / "upper", {"etc/hosts": "", "etc/hostname": "", "etc/resolv.conf": "",
                                        "proc": None, "mnt/vol": None, "srv": None, "new.txt": "x",
                                        "etc/changed": "y"})
    view = RootfsView([image])
    dropped = runtime_files(upper, view, ["/mnt/vol", "/srv"])
    assert set(dropped) == {"etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "mnt/vol", "mnt"}
    assert (upper / "etc" / "hosts").exists() and (upper / "mnt" / "vol").is_dir()  # read only
    out = io.BytesIO()
    layers.pack(upper, out, overlay_whiteouts=True, exclude=dropped)
    out.seek(0)
    names = set(tarfile.open(fileobj=out).getnames())
    assert names == {"etc", "etc/changed", "new.txt", "srv"}
    strip_runtime_files(upper, view, ["/mnt/vol", "/srv"])  # the builder's: the same entries, deleted
    assert not (upper / "etc" / "hosts").exists() and not (upper / "mnt").exists()
    assert (upper / "srv").is_dir() and (upper / "etc" / "changed").exists()


def _tar_of(path: Path, arcname: str) -> io.BytesIO:
    buf = io.BytesIO()
    write_tar(str(path), arcname, buf)
    buf.seek(0)
    return buf


def test_cp_placement_follows_docker_cp_rules(tmp_path: Path) -> None:
    src = _layer(tmp_path / "src", {"d/a.txt": "a", "d/sub/b.txt": "b", "f.txt": "f"})
    dest = tmp_path / "dest"
    dest.mkdir()
    extract_tar(_tar_of(src / "f.txt", "f.txt"), str(dest))  # into an existing directory
    assert (dest / "f.txt").read_text() == "f"
    extract_tar(_tar_of(src / "f.txt", "f.txt"), str(dest / "renamed.txt"))  # a new name
    assert (dest / "renamed.txt").read_text() == "f"
    (dest / "renamed.txt").write_text("old")
    extract_tar(_tar_of(src / "f.txt", "f.txt"), str(dest / "renamed.txt"))  # over a file
    assert (dest / "renamed.txt").read_text() == "f"
    extract_tar(_tar_of(src / "d", "d"), str(dest))  # a directory into a directory
    assert (dest / "d" / "sub" / "b.txt").read_text() == "b"
    extract_tar(_tar_of(src / "d", "d"), str(dest / "newdir"))  # a directory as a new one
    assert (dest / "newdir" / "a.txt").read_text() == "a"
    extract_tar(_tar_of(src / "d", "d"), str(dest / "newdir"), contents_only=True)  # SRC/. : its content
    assert (dest / "newdir" / "sub" / "b.txt").read_text() == "b" and not (dest / "newdir" / "d").exists()
    with pytest.raises(CopyError):
        extract_tar(_tar_of(src / "d", "d"), str(dest / "f.txt"))  # a directory onto a file
    with pytest.raises(FileNotFoundError):
        extract_tar(_tar_of(src / "f.txt", "f.txt"), str(dest / "missing" / "x"))
    with pytest.raises(FileNotFoundError):
        extract_tar(_tar_of(src / "f.txt", "f.txt"), str(dest / "nodir") + "/")


def _evil_tar(*members: tuple[str, str | None, str]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, link, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, link or ""
                tar.addfile(info)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))
    buf.seek(0)
    return buf


def test_extraction_refuses_to_leave_the_destination(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(CopyError):
        extract_tar(_evil_tar(("top", None, "dir"), ("top/../../x", None, "file")), str(dest))
    with pytest.raises(CopyError):
        extract_tar(_evil_tar(("top", None, "dir"), ("top/link", str(outside), "sym"), ("top/link/x", None, "file")),
                    str(dest))
    assert not os.listdir(outside)
    extract_tar(_evil_tar(("a.txt", None, "file"), ("b.txt", None, "file")), str(dest), raw=True)  # cp - C:DIR
    assert (dest / "a.txt").exists() and (dest / "b.txt").exists()


def test_cli_locations_and_flags() -> None:
    from compose.cli.commands.container_fs import add_commit_flags, add_cp_flags
    from compose.cli.commands.cp import split_location
    from compose.cli.parsers import go_bool_argv

    assert split_location("web:/etc/hosts") == ("web", "/etc/hosts")
    assert split_location("./a:b") == (None, "./a:b") and split_location("/x:y") == (None, "/x:y")
    assert split_location("-") == (None, "-") and split_location("dir/f:1") == (None, "dir/f:1")
    p = argparse.ArgumentParser()
    add_commit_flags(p)
    args = p.parse_args(go_bool_argv(["-c", "CMD x", "-c", "ENV A=1", "--pause=false", "-m", "msg", "c1", "repo:tag"],
                                     ["commit"]))
    assert args.change == ["CMD x", "ENV A=1"] and args.pause is False and args.repository == "repo:tag"
    assert p.parse_args(["c1"]).pause is True and p.parse_args(["c1"]).repository is None
    assert p.parse_args(["-p", "c1"]).container == "c1"  # -p takes no value, as docker's
    p = argparse.ArgumentParser()
    add_cp_flags(p)
    args = p.parse_args(["-a", "-L", "c:/x", "-"])
    assert args.archive and args.follow_link and args.dest == "-"


def test_export_refuses_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from compose.cli.commands import container_fs
    from compose.errors import UsageError

    class Tty(io.BytesIO):
        def isatty(self) -> bool:
            return True

    class Out:
        buffer = Tty()

    monkeypatch.setattr(container_fs.sys, "stdout", Out())
    with pytest.raises(UsageError, match="cowardly refusing to save to a terminal"):
        container_fs.write_tar_output(None, lambda out: out.write(b"tar"))
    assert Out.buffer.getvalue() == b""


def test_export_to_a_file_replaces_it_whole(tmp_path: Path) -> None:
    from compose.cli.commands.container_fs import write_tar_output

    target = tmp_path / "out.tar"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        write_tar_output(str(target), lambda out: (out.write(b"partial"), (_ for _ in ()).throw(RuntimeError())))
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.tar"]
    write_tar_output(str(target), lambda out: out.write(b"new"))
    assert target.read_bytes() == b"new"


def test_fake_engine_has_the_new_calls() -> None:
    from tests.support.fake_engine import FakeEngine

    engine = FakeEngine()
    engine.add_image("img")
    state = engine.container_create(ContainerSpec(name="c", image="img"))
    image_id = engine.container_commit(state.id, repository="new:1")
    assert engine.image_inspect("new:1").id == image_id
    out = io.BytesIO()
    engine.container_export(state.id, out)
    assert tarfile.open(fileobj=io.BytesIO(out.getvalue())).getnames() == []
