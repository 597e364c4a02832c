"""COPY and ADD in a build: which sources (context, heredoc, URL, another stage or image), the cache key part
for what they read, the destination rules, and the layer (written by :class:`LayerWriter`).

Destination rules, as Docker's: a destination ending in ``/`` (or ``.``), several sources, or a directory that
exists in the image means "into that directory"; otherwise the single source becomes that path. A relative
destination is relative to WORKDIR. A directory source copies its contents.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import BuildError, RuntimeErrorBase
from runtime.images.build.cache import ImageState
from runtime.images.build.context import ContextError
from runtime.images.build.copy_step import Item, LayerWriter, is_archive, parse_chown
from runtime.images.build.dockerfile import Instruction
from runtime.images.build.dockerignore import IgnoreMatcher
from runtime.images.build.instructions import CopyCommand
from runtime.images.build.rootfs_view import RootfsView

if TYPE_CHECKING:
    from runtime.images.build.builder import _Build, _StageResult


class CopyRunner:
    """The COPY/ADD steps of one build (``b`` is the build: its context, stages, store and progress)."""

    def __init__(self, build: _Build) -> None:
        self.b = build

    def source_digest(self, inst: Instruction, cmd: CopyCommand) -> Any:
        """What the sources are, for the cache key: file contents, another stage's key, or an image id."""
        parts: list[Any] = []
        context_sources = []
        for src in cmd.sources:
            if src.heredoc is not None:
                parts.append(["heredoc", src.path, src.heredoc.content])
            elif is_url(src.path) and cmd.add:
                parts.append(["url", src.path])
            else:
                context_sources.append(src.path)
        if cmd.from_:
            dep = self.b.df.stage_index(cmd.from_)
            if dep is not None:
                parts.append(["stage", self.b.results[dep].key, context_sources])
            else:
                parts.append(["image", self.from_image_id(inst, cmd.from_), context_sources])
        elif context_sources:
            try:
                parts.append(["context", self.b.context.content_hash(context_sources)])
            except ContextError as exc:
                raise self.b.error(inst, f"{inst.keyword} failed: {exc}",
                                   hint="check the path (relative to the context) and .dockerignore") from None
        return parts

    def from_image_id(self, inst: Instruction, ref: str) -> str:
        if not self.b.store.exists(ref):
            self.b.pull_base(ref, "")
        try:
            return str(self.b.store.resolve(ref).id)
        except RuntimeErrorBase as exc:
            raise self.b.error(inst, f"COPY --from={ref}: {exc.message}",
                               hint="name an earlier stage or an image in the store") from None

    def run(self, result: _StageResult, state: ImageState, cmd: CopyCommand, inst: Instruction,
            label: str) -> None:
        config = state.config.get("config") or {}
        dest = cmd.dest
        dest_is_dir_syntax = dest.endswith("/") or dest in (".", "..") or dest.endswith("/.")
        dest_abs = posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", dest))
        view = self.b.view_of(result)
        owner = None
        if cmd.chown:
            try:
                owner = parse_chown(cmd.chown, view)
            except LookupError as exc:
                raise self.b.error(inst, f"--chown={cmd.chown}: {exc}",
                                   hint="use numeric ids, or names that exist in the image") from None
        items = self._copy_items(inst, cmd)
        if len(items) > 1 and not dest_is_dir_syntax and not view.is_dir(dest_abs):
            raise self.b.error(inst, f"when using {inst.keyword} with more than one source file, the destination "
                               "must be a directory and end with a /", hint=f"write the destination as {dest}/")
        into_dir = dest_is_dir_syntax or len(items) > 1 or view.is_dir(dest_abs)
        staging = Path(tempfile.mkdtemp(prefix="copy-", dir=self.b.tmp_root))
        try:
            writer = LayerWriter(staging, view, owner, cmd.chmod,
                                 lambda m: self.b.emit("warning", f"{self.b.file}:{inst.line}: {m}", label))
            for kind, src in items:
                self._copy_one(writer, kind, src, dest_abs, into_dir, cmd)
            shown = " ".join(s.path for s in cmd.sources)
            self.b.commit_layer(state, staging, overlay=False, created_by=f"{inst.keyword} {shown} {dest}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _copy_items(self, inst: Instruction, cmd: CopyCommand) -> list[tuple[str, Any]]:
        """(kind, source) pairs: ("heredoc", CopySource), ("url", str), ("context", SourceFile),
        ("view", (RootfsView, Entry))."""
        items: list[tuple[str, Any]] = []
        from_view: RootfsView | None = None
        if cmd.from_:
            dep = self.b.df.stage_index(cmd.from_)
            if dep is not None:
                from_view = self.b.view_of(self.b.results[dep])
            else:
                from_view = RootfsView(self.b.store.rootfs_layers(self.from_image_id(inst, cmd.from_)))
        for src in cmd.sources:
            if src.heredoc is not None:
                items.append(("heredoc", src))
            elif cmd.add and is_url(src.path):
                items.append(("url", src.path))
            elif from_view is not None:
                path = from_view.resolve(src.path)
                entry = from_view.lstat(path)
                if entry is None and path != "/":
                    matches = _glob_view(from_view, src.path)
                    if not matches:
                        raise self.b.error(inst, f"COPY --from={cmd.from_}: {src.path} not found in the stage/image",
                                           hint="check the path inside the source stage")
                    items.extend(("view", (from_view, e, p)) for e, p in matches)
                else:
                    items.append(("view", (from_view, entry, path)))
            else:
                try:
                    for found in self.b.context.resolve(src.path):
                        items.append(("context", found))
                except ContextError as exc:
                    raise self.b.error(inst, f"{inst.keyword} failed: {exc}",
                                       hint="check the path (relative to the context) and .dockerignore") from None
        return items

    def _copy_one(self, writer: LayerWriter, kind: str, src: Any, dest: str, into_dir: bool,
                  cmd: CopyCommand) -> None:
        import stat as st_mod

        if kind == "heredoc":
            target = posixpath.join(dest, src.path) if into_dir else dest
            writer.add(Item(dest=target, host_path=None, st=None, content=src.heredoc.content.encode()))
            return
        if kind == "url":
            self._download(writer, src, dest, into_dir)
            return
        if kind == "context":
            excluded = IgnoreMatcher(cmd.excludes) if cmd.excludes else None
            if cmd.parents and src.rel:
                # --parents: the source keeps its path below the context root.
                dest = posixpath.join(dest, posixpath.dirname(src.rel)) if not st_mod.S_ISDIR(src.st.st_mode) \
                    else posixpath.join(dest, src.rel)
                into_dir = True
            if st_mod.S_ISDIR(src.st.st_mode):
                writer.add_dir_itself(dest, None, keep_owner=False)
                for entry in self.b.context.walk(src):
                    rel = entry.rel[len(src.rel):].lstrip("/") if src.rel else entry.rel
                    if excluded is not None and (excluded.matches(rel) or excluded.matches(entry.rel)):
                        continue
                    writer.add(Item(dest=posixpath.join(dest, rel), host_path=entry.path, st=entry.st))
                return
            if excluded is not None and (excluded.matches(src.rel) or excluded.matches(posixpath.basename(src.rel))):
                return
            if cmd.add and is_archive(src.path):
                writer.extract_archive(src.path, dest)
                return
            name = posixpath.basename(src.rel) or "."
            target = posixpath.join(dest, name) if into_dir else dest
            writer.add(Item(dest=target, host_path=src.path, st=src.st))
            return
        # From another stage or image.
        view, entry, path = src
        if entry is None or st_mod.S_ISDIR(entry.st.st_mode):
            if entry is not None:
                writer.add_dir_itself(dest, entry.st, keep_owner=True)
            for child in view.walk(path):
                rel = child.path[len(path.rstrip("/")):].lstrip("/")
                writer.add(Item(dest=posixpath.join(dest, rel), host_path=Path(child.host_path), st=child.st,
                                keep_owner=True))
            return
        target = posixpath.join(dest, posixpath.basename(path)) if into_dir else dest
        writer.add(Item(dest=target, host_path=Path(entry.host_path), st=entry.st, keep_owner=True))

    def _download(self, writer: LayerWriter, url: str, dest: str, into_dir: bool) -> None:
        import urllib.parse
        import urllib.request

        name = posixpath.basename(urllib.parse.urlparse(url).path) or "index.html"
        target = posixpath.join(dest, name) if into_dir else dest
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - http(s) only, checked
                data = response.read()
        except OSError as exc:
            raise BuildError(f"ADD {url}: download failed: {exc}") from None
        writer.add(Item(dest=target, host_path=None, st=None, content=data))
        os.chmod(writer.host(target), writer.chmod if writer.chmod is not None else 0o600)


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def _glob_view(view: RootfsView, pattern: str) -> list[Any]:
    """Glob a path inside an image's root filesystem (per component, Go's filepath.Match rules)."""
    from runtime.images.build.context import _go_match

    parts = [p for p in posixpath.normpath("/" + pattern).split("/") if p]
    current = ["/"]
    for part in parts:
        nxt = []
        for base in current:
            for name in view.listdir(base):
                if _go_match(part, name):
                    nxt.append(posixpath.join(base, name))
        current = nxt
    out = []
    for path in current:
        entry = view.lstat(path)
        if entry is not None:
            out.append((entry, path))
    return out
