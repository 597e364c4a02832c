"""Layer tar <-> directory: path safety, whiteouts, metadata, compression (temp dirs only)."""

from __future__ import annotations

import gzip
import io
import os
import stat
from pathlib import Path

import pytest
import zstandard

from runtime.errors import ImageError
from runtime.images import compression, layers
from tests.support.tarbuild import Entry, make_tar

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="whiteouts and devices need CAP_MKNOD")


def unpack(tmp_path: Path, entries: list[Entry]) -> Path:
    dest = tmp_path / "diff"
    dest.mkdir()
    layers.unpack(io.BytesIO(make_tar(entries)), dest)
    return dest


@pytest.mark.parametrize(("name", "clean"), [
    ("a/b", "a/b"), ("./a/b", "a/b"), ("/abs/x", "abs/x"), ("a/./b/../c", "a/c"), ("./", ""), ("/", ""),
    ("a/b/", "a/b"),
])
def test_clean_member_path(name: str, clean: str) -> None:
    assert layers.clean_member_path(name) == clean


@pytest.mark.parametrize("name", ["..", "../x", "a/../../x", "./../etc/passwd", "/../x"])
def test_clean_member_path_refuses_escape(name: str) -> None:
    with pytest.raises(ImageError, match="path traversal"):
        layers.clean_member_path(name)


@pytest.mark.parametrize(("rel", "kind", "target"), [
    ("a/.wh.b", "whiteout", "a/b"), (".wh.top", "whiteout", "top"), ("d/.wh..wh..opq", "opaque", "d"),
    (".wh..wh.plnk/1", "plain", None), ("d/.wh..wh.aufs", "meta", None), ("plain/file", "plain", None),
])
def test_whiteout_classification(rel: str, kind: str, target: str | None) -> None:
    assert layers.whiteout_target(rel) == (kind, target)


def test_chain_ids() -> None:
    import hashlib

    a, b, c = ("sha256:" + ch * 64 for ch in "abc")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert layers.chain_ids([a, b, c]) == [a, ab, abc]
    assert layers.chain_ids([]) == []


def test_files_dirs_links_modes_times(tmp_path: Path) -> None:
    dest = unpack(tmp_path, [
        Entry("etc", "dir", mode=0o755),
        Entry("etc/conf", data=b"hello", mode=0o640, mtime=1_600_000_000),
        Entry("bin/tool", data=b"#!x", mode=0o4755),  # parent created implicitly
        Entry("etc/link", "symlink", link="conf"),
        Entry("etc/abs", "symlink", link="/etc/passwd"),  # dangling/absolute targets are kept as-is
        Entry("etc/hard", "hardlink", link="etc/conf"),
        Entry("ro", "dir", mode=0o555),
        Entry("ro/inside", data=b"x"),
        Entry("etc/conf2", data=b"first"),
        Entry("etc/conf2", data=b"second"),  # a later member replaces an earlier one
    ])
    assert (dest / "etc/conf").read_bytes() == b"hello"
    assert stat.S_IMODE(os.stat(dest / "etc/conf").st_mode) == 0o640
    assert os.stat(dest / "etc/conf").st_mtime == 1_600_000_000
    assert stat.S_IMODE(os.stat(dest / "bin/tool").st_mode) == 0o4755
    assert os.readlink(dest / "etc/link") == "conf"
    assert os.readlink(dest / "etc/abs") == "/etc/passwd"
    assert os.stat(dest / "etc/hard").st_ino == os.stat(dest / "etc/conf").st_ino
    assert stat.S_IMODE(os.stat(dest / "ro").st_mode) == 0o555
    assert (dest / "ro/inside").read_bytes() == b"x"
    assert (dest / "etc/conf2").read_bytes() == b"second"


def test_refuses_write_through_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(ImageError, match="through the symlink"):
        unpack(tmp_path, [Entry("escape", "symlink", link=str(outside)), Entry("escape/pwned", data=b"x")])
    assert not (outside / "pwned").exists()


def test_refuses_traversal_member(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="path traversal"):
        unpack(tmp_path, [Entry("../evil", data=b"x")])
    assert not (tmp_path / "evil").exists()


def test_refuses_hardlink_outside(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="path traversal"):
        unpack(tmp_path, [Entry("h", "hardlink", link="../../etc/passwd")])


def test_refuses_hardlink_to_missing_member(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not in the layer"):
        unpack(tmp_path, [Entry("h2", "hardlink", link="missing")])


def test_truncated_layer(tmp_path: Path) -> None:
    data = make_tar([Entry("big", data=b"x" * 100_000)])
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(ImageError):
        layers.unpack(io.BytesIO(data[:50_000]), dest)


@needs_root
def test_whiteouts_become_overlay_whiteouts(tmp_path: Path) -> None:
    dest = unpack(tmp_path, [
        Entry("a", "dir"),
        Entry("a/.wh.gone"),
        Entry("opaque/.wh..wh..opq"),
        Entry("opaque/new", data=b"n"),
        Entry(".wh..wh.plnk", "dir"),  # aufs metadata: ignored
    ])
    st = os.lstat(dest / "a/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(dest / "opaque", layers.OVERLAY_OPAQUE_XATTR) == b"y"
    assert (dest / "opaque/new").read_bytes() == b"n"
    assert not (dest / ".wh..wh.plnk").exists()


_MODES = (0o666, 0o644, 0o600, 0o000, 0o4755, 0o2750, 0o1777, 0o777)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_regular_files_get_their_mode_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """Files created with their final mode (no chmod) must not lose bits to the umask, nor keep set-id bits
    that a later chown would clear."""
    old = os.umask(umask)
    try:
        dest = unpack(tmp_path, [Entry(f"f{mode:o}", data=b"x", mode=mode) for mode in _MODES])
    finally:
        os.umask(old)
    assert {mode: stat.S_IMODE(os.lstat(dest / f"f{mode:o}").st_mode) for mode in _MODES} == \
        {mode: mode for mode in _MODES}


@needs_root
def test_regular_file_owners_under_a_set_gid_destination(tmp_path: Path) -> None:
    """A new file under a set-gid directory takes that directory's group: a member owned by root:root
    must still end up root:root (its chown is skipped only where a new file is ours already)."""
    dest = tmp_path / "diff"
    dest.mkdir()
    os.chown(dest, 0, 4242)
    os.chmod(dest, 0o2755)
    layers.unpack(io.BytesIO(make_tar([
        Entry("root-owned", data=b"x", mode=0o644),
        Entry("sub/root-owned", data=b"x", mode=0o644),
        Entry("app-owned", data=b"x", uid=1000, gid=100, mode=0o4755),
    ])), dest)
    owners = {name: (os.lstat(dest / name).st_uid, os.lstat(dest / name).st_gid)
              for name in ("root-owned", "sub/root-owned", "app-owned")}
    assert owners == {"root-owned": (0, 0), "sub/root-owned": (0, 0), "app-owned": (1000, 100)}
    assert stat.S_IMODE(os.lstat(dest / "app-owned").st_mode) == 0o4755


@needs_root
def test_ownership_devices_xattrs(tmp_path: Path) -> None:
    dest = unpack(tmp_path, [
        Entry("home/app", "dir", uid=1000, gid=1000, mode=0o750),
        Entry("home/app/f", data=b"x", uid=1000, gid=100, mode=0o2755, xattrs={"user.note": b"v\xff"}),
        Entry("dev/null", "chr", major=1, minor=3, mode=0o666),
        Entry("dev/loop", "blk", major=7, minor=0, mode=0o660, gid=6),
        Entry("run/fifo", "fifo", mode=0o600),
        Entry("lnk", "symlink", link="target", uid=5, gid=6),
    ])
    st = os.lstat(dest / "home/app/f")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 100, 0o2755)
    assert os.getxattr(dest / "home/app/f", "user.note") == b"v\xff"
    assert (os.lstat(dest / "home/app").st_uid, stat.S_IMODE(os.lstat(dest / "home/app").st_mode)) == (1000, 0o750)
    dev = os.lstat(dest / "dev/null")
    assert stat.S_ISCHR(dev.st_mode) and (os.major(dev.st_rdev), os.minor(dev.st_rdev)) == (1, 3)
    assert stat.S_ISBLK(os.lstat(dest / "dev/loop").st_mode) and os.lstat(dest / "dev/loop").st_gid == 6
    assert stat.S_ISFIFO(os.lstat(dest / "run/fifo").st_mode)
    assert (os.lstat(dest / "lnk").st_uid, os.lstat(dest / "lnk").st_gid) == (5, 6)


@needs_root
def test_pack_round_trip_with_overlay_whiteouts(tmp_path: Path) -> None:
    upper = unpack(tmp_path, [
        Entry("keep", data=b"k", mode=0o600, uid=7),
        Entry("d/.wh.removed"),
        Entry("op/.wh..wh..opq"),
        Entry("op/x", data=b"x"),
        Entry("h1", data=b"same"),
        Entry("h2", "hardlink", link="h1"),
        Entry("s", "symlink", link="keep"),
    ])
    out = io.BytesIO()
    layers.pack(upper, out, overlay_whiteouts=True)
    again = tmp_path / "again"
    again.mkdir()
    layers.unpack(io.BytesIO(out.getvalue()), again)
    assert stat.S_ISCHR(os.lstat(again / "d/removed").st_mode)
    assert os.getxattr(again / "op", layers.OVERLAY_OPAQUE_XATTR) == b"y"
    assert os.lstat(again / "keep").st_uid == 7
    assert os.stat(again / "h1").st_ino == os.stat(again / "h2").st_ino
    assert os.readlink(again / "s") == "keep"
    import tarfile

    names = tarfile.open(fileobj=io.BytesIO(out.getvalue())).getnames()
    assert "d/.wh.removed" in names and "op/.wh..wh..opq" in names
    assert not any(n.startswith("/") or n.startswith("./") for n in names)


def test_pack_is_deterministic_and_numeric(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "b").mkdir(parents=True)
    (src / "b/z").write_text("z")
    (src / "a").write_text("a")
    first, second = io.BytesIO(), io.BytesIO()
    layers.pack(src, first)
    layers.pack(src, second)
    assert first.getvalue() == second.getvalue()
    import tarfile

    tar = tarfile.open(fileobj=io.BytesIO(first.getvalue()))
    assert tar.getnames() == ["a", "b", "b/z"]
    assert all(m.uname == "" and m.gname == "" for m in tar.getmembers())


@pytest.mark.parametrize("kind", ["gzip", "zstd", "none"])
def test_compression_detect_and_stream(kind: str) -> None:
    raw = make_tar([Entry("f", data=b"payload" * 1000)])
    blob = {"gzip": gzip.compress, "zstd": zstandard.ZstdCompressor().compress, "none": bytes}[kind](raw)
    assert compression.detect(blob[:8]) == kind
    assert compression.decompressed(io.BytesIO(blob)).read() == raw


def test_multi_frame_gzip_and_zstd() -> None:
    raw = b"a" * 5000 + b"b" * 5000
    two_gz = gzip.compress(raw[:5000]) + gzip.compress(raw[5000:])
    assert compression.decompressed(io.BytesIO(two_gz)).read() == raw
    z = zstandard.ZstdCompressor()
    two_zst = z.compress(raw[:5000]) + z.compress(raw[5000:])
    assert compression.decompressed(io.BytesIO(two_zst)).read() == raw


def test_media_type_compression() -> None:
    assert compression.media_type_compression("application/vnd.oci.image.layer.v1.tar+gzip") == "gzip"
    assert compression.media_type_compression("application/vnd.oci.image.layer.v1.tar+zstd") == "zstd"
    assert compression.media_type_compression("application/vnd.oci.image.layer.v1.tar") == "none"
    assert compression.media_type_compression("application/vnd.docker.image.rootfs.diff.tar.gzip") == "gzip"
    assert compression.media_type_compression("application/json") is None


_LATER_KINDS = ["file", "dir", "symlink", "hardlink", "fifo"] + (["chr", "whiteout"] if IS_ROOT else [])
_EARLIER_KINDS = ["file", "dir", "dir-with-child", "symlink-to-dir", "symlink-to-file", "fifo"]


def _earlier(kind: str) -> list[Entry]:
    """Entries making ``x`` an entry of ``kind`` (plus the targets some kinds point at)."""
    base = [Entry("target-dir", "dir"), Entry("target-file", data=b"t"), Entry("src", data=b"source")]
    return base + {
        "file": [Entry("x", data=b"old")],
        "dir": [Entry("x", "dir", mode=0o700)],
        "dir-with-child": [Entry("x", "dir"), Entry("x/child", data=b"c")],
        "symlink-to-dir": [Entry("x", "symlink", link="target-dir")],
        "symlink-to-file": [Entry("x", "symlink", link="target-file")],
        "fifo": [Entry("x", "fifo")],
    }[kind]


def _later(kind: str) -> Entry:
    return {
        "file": Entry("x", data=b"new", mode=0o640),
        "dir": Entry("x", "dir", mode=0o751),
        "symlink": Entry("x", "symlink", link="elsewhere"),
        "hardlink": Entry("x", "hardlink", link="src"),
        "fifo": Entry("x", "fifo", mode=0o620),
        "chr": Entry("x", "chr", major=1, minor=3, mode=0o666),
        "whiteout": Entry(".wh.x"),
    }[kind]


@pytest.mark.parametrize("earlier", _EARLIER_KINDS)
@pytest.mark.parametrize("later", _LATER_KINDS)
def test_a_later_member_replaces_an_earlier_one(tmp_path: Path, earlier: str, later: str) -> None:
    """Whatever an earlier member of the layer left at a path, a later member of any kind replaces it (a
    directory over a directory merges: its children stay); nothing outside ``x`` changes."""
    dest = unpack(tmp_path, [*_earlier(earlier), _later(later)])
    st = os.lstat(dest / "x")
    if later == "file":
        assert stat.S_ISREG(st.st_mode) and (dest / "x").read_bytes() == b"new"
        assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_nlink == 1
    elif later == "dir":
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o751
        assert sorted(os.listdir(dest / "x")) == (["child"] if earlier == "dir-with-child" else [])
    elif later == "symlink":
        assert os.readlink(dest / "x") == "elsewhere"
    elif later == "hardlink":
        assert st.st_ino == os.lstat(dest / "src").st_ino
    elif later == "fifo":
        assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o620
    elif later == "chr":
        assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    else:  # whiteout: a 0/0 character device
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    # The targets of an earlier symlink were never written through.
    assert (dest / "target-file").read_bytes() == b"t"
    assert os.listdir(dest / "target-dir") == []
    assert (dest / "src").read_bytes() == b"source"


def test_a_directory_replaced_by_a_symlink_does_not_chmod_the_symlinks_target(tmp_path: Path) -> None:
    """The deferred mode of a directory member must not reach a file outside the layer through a later
    symlink member of the same name (chmod follows symlinks)."""
    host_file = tmp_path / "host-file"
    host_file.write_bytes(b"secret")
    host_file.chmod(0o600)
    before = os.stat(host_file)
    dest = unpack(tmp_path, [Entry("x", "dir", mode=0o777, mtime=1), Entry("x", "symlink", link=str(host_file))])
    assert os.readlink(dest / "x") == str(host_file)
    after = os.stat(host_file)
    assert stat.S_IMODE(after.st_mode) == 0o600
    assert after.st_mtime == before.st_mtime
