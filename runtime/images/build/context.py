"""The build context: resolving COPY/ADD sources in it (globs, .dockerignore) and hashing what they read.

A source is relative to the context root (a leading ``/`` too, as in Docker); ``..`` may not leave the
context. Globs use Go's ``filepath.Match`` rules per path component. Paths excluded by .dockerignore do
not exist as far as the build is concerned. The content hash covers relative paths, file types, modes
(permission bits), symlink targets and file contents (not owners or times, which COPY does not keep), so it
changes exactly when what a COPY would write changes. File digests are remembered per (path, size, mtime,
inode) in a small stat cache, so an unchanged context is hashed without reading its files again.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import posixpath
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runtime.images.build.dockerignore import IgnoreMatcher

_MAGIC = set("*?[")


class ContextError(ValueError):
    """A source that does not exist, is excluded, or points outside the context."""


@dataclass(frozen=True)
class SourceFile:
    rel: str  # path relative to the context root ("" for the root itself)
    path: Path  # on the host
    st: os.stat_result


class BuildContext:
    def __init__(self, root: Path, matcher: IgnoreMatcher | None = None, stat_cache: Path | None = None) -> None:
        self.root = root.resolve()
        self.matcher = matcher or IgnoreMatcher([])
        self._stat_cache_path = stat_cache
        self._stat_cache: dict[str, list[object]] | None = None
        self._dirty = False
        self._read: set[str] = set()  # stat-cache keys used by this build

    # ----------------------------------------------------------------------------------- resolution

    def excluded(self, rel: str) -> bool:
        return bool(rel) and self.matcher.matches(rel)

    def clean_source(self, source: str) -> str:
        text = source.replace("\\", "/")
        if not text.startswith("/"):
            relative = posixpath.normpath(text)
            if relative == ".." or relative.startswith("../"):
                raise ContextError(f"forbidden path outside the build context: {source}")
        rel = posixpath.normpath("/" + text).lstrip("/")
        return "" if rel == "." else rel

    def resolve(self, source: str) -> list[SourceFile]:
        """The context entries a COPY source names (a glob may name several), excluded ones left out."""
        rel = self.clean_source(source)
        if not rel:
            return [SourceFile("", self.root, os.lstat(self.root))]
        parts = rel.split("/")
        found = self._glob(parts)
        if not found:
            raise ContextError(f"file not found in build context or excluded by .dockerignore: {source}")
        return found

    def _glob(self, parts: list[str]) -> list[SourceFile]:
        current = [""]
        for i, part in enumerate(parts):
            nxt: list[str] = []
            for base in current:
                base_path = self.root / base if base else self.root
                if not any(c in _MAGIC for c in part):
                    candidates = [part]
                else:
                    try:
                        names = sorted(os.listdir(base_path))
                    except (NotADirectoryError, FileNotFoundError):
                        continue
                    candidates = [n for n in names if _go_match(part, n)]
                for name in candidates:
                    rel = f"{base}/{name}" if base else name
                    path = self.root / rel
                    if not os.path.lexists(path) or self.excluded(rel):
                        continue
                    if i < len(parts) - 1 and not path.is_dir():
                        continue
                    nxt.append(rel)
            current = nxt
        out = []
        for rel in current:
            path = self.root / rel
            st = os.lstat(path)
            # A symlink named as a source is followed (Docker copies what it points to), inside the context.
            if stat.S_ISLNK(st.st_mode):
                target = path.resolve()
                if not str(target).startswith(str(self.root)):
                    raise ContextError(f"forbidden path outside the build context: {rel} -> {target}")
                path, st = target, os.stat(target)
            out.append(SourceFile(rel, path, st))
        return out

    def walk(self, source: SourceFile) -> list[SourceFile]:
        """The entries below a directory source (not the directory itself), parents first, excluded ones out."""
        out: list[SourceFile] = []
        self._walk_into(source.path, source.rel, out)
        return out

    def _walk_into(self, path: Path, rel: str, out: list[SourceFile]) -> None:
        try:
            names = sorted(os.listdir(path))
        except NotADirectoryError:
            return
        for name in names:
            child_rel = f"{rel}/{name}" if rel else name
            child = path / name
            st = os.lstat(child)
            is_dir = stat.S_ISDIR(st.st_mode)
            if self.excluded(child_rel):
                if is_dir and self.matcher.may_include_below(child_rel):
                    sub: list[SourceFile] = []
                    self._walk_into(child, child_rel, sub)
                    if sub:  # the directory is needed as the parent of what is included again
                        out.append(SourceFile(child_rel, child, st))
                        out.extend(sub)
                continue
            out.append(SourceFile(child_rel, child, st))
            if is_dir:
                self._walk_into(child, child_rel, out)

    # --------------------------------------------------------------------------------------- hashing

    def content_hash(self, sources: list[str]) -> str:
        """A digest of everything the given COPY/ADD sources read (see the module docstring)."""
        h = hashlib.sha256()
        for source in sources:
            h.update(b"source\0" + source.encode() + b"\0")
            for top in self.resolve(source):
                self._hash_entry(h, top, top.rel)
                if stat.S_ISDIR(top.st.st_mode):
                    for entry in self.walk(top):
                        self._hash_entry(h, entry, entry.rel)
        self.save_stat_cache()
        return "sha256:" + h.hexdigest()

    def _hash_entry(self, h: hashlib._Hash, entry: SourceFile, rel: str) -> None:
        st = entry.st
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            h.update(f"d {rel} {mode:o}\0".encode())
        elif stat.S_ISLNK(st.st_mode):
            h.update(f"l {rel} {os.readlink(entry.path)}\0".encode())
        elif stat.S_ISREG(st.st_mode):
            h.update(f"f {rel} {mode:o} {self._file_digest(entry)}\0".encode())
        else:
            h.update(f"o {rel} {st.st_mode:o} {st.st_rdev}\0".encode())

    def _file_digest(self, entry: SourceFile) -> str:
        cache = self._load_stat_cache()
        st = entry.st
        key = str(entry.path)
        self._read.add(key)
        sig = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        cached = cache.get(key)
        if cached is not None and cached[:4] == sig:
            return str(cached[4])
        h = hashlib.sha256()
        with open(entry.path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = h.hexdigest()
        cache[key] = [*sig, digest]
        self._dirty = True
        return digest

    def _load_stat_cache(self) -> dict[str, list[object]]:
        if self._stat_cache is None:
            self._stat_cache = {}
            if self._stat_cache_path is not None:
                with contextlib.suppress(OSError, ValueError):
                    loaded = json.loads(self._stat_cache_path.read_text())
                    if isinstance(loaded, dict):
                        self._stat_cache = loaded
        return self._stat_cache

    def forget_unread(self) -> None:
        """At the end of a build: drop this context's entries the build did not read (deleted files...)."""
        if self._stat_cache is None:
            return
        prefix = str(self.root) + os.sep
        stale = [k for k in self._stat_cache if k.startswith(prefix) and k not in self._read]
        for key in stale:
            del self._stat_cache[key]
        if stale:
            self._dirty = True
            self.save_stat_cache()

    def save_stat_cache(self) -> None:
        if not self._dirty or self._stat_cache_path is None or self._stat_cache is None:
            return
        path = self._stat_cache_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".stat-", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(self._stat_cache, f)
        os.replace(tmp, path)
        self._dirty = False


def _go_match(pattern: str, name: str) -> bool:
    """Go's filepath.Match for one path component (``[!...]`` and ``[^...]`` negate, ``\\`` escapes)."""
    if "\\" in pattern:
        regex = []
        i = 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\" and i + 1 < len(pattern):
                regex.append("[" + pattern[i + 1] + "]" if pattern[i + 1] not in "]^!" else "\\" + pattern[i + 1])
                i += 2
                continue
            regex.append(ch)
            i += 1
        pattern = "".join(regex)
    return fnmatch.fnmatchcase(name, pattern.replace("[^", "[!"))
