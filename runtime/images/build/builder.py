"""Dockerfile builds: ``build(engine, BuildRequest(...), progress) -> ImageInfo``.

The build walks the stages the target needs (``FROM <stage>`` and ``COPY --from=<stage>`` dependencies; the
others are skipped, as BuildKit does), one instruction at a time. Each step has a cache key
(:mod:`runtime.images.build.cache`); on a hit its result is taken as is. Metadata instructions change the
image config only; COPY/ADD write a layer from a staging directory (:mod:`runtime.images.build.copy_run`);
RUN runs in a hoist container whose upper dir becomes the layer (:mod:`runtime.images.build.run_step`).

A RUN needs its base as an image in the store: the state built so far is written as an untagged
intermediate image when needed. The intermediates of the final stage are removed at the end (the final image
holds all their layers); a stage whose layers the final image lacks keeps one, as the build cache's
material (``hoist image prune`` removes it, and the next build then runs those steps again).

The compose side calls :func:`build_service_image` with a service's ``build:`` section.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runtime.api import ImageInfo
from runtime.errors import BuildError, RuntimeErrorBase
from runtime.images.build import metadata
from runtime.images.build.cache import BuildCache, ImageState, step_key
from runtime.images.build.context import BuildContext
from runtime.images.build.copy_run import CopyRunner
from runtime.images.build.copy_step import LayerWriter
from runtime.images.build.dockerfile import Dockerfile, DockerfileError, Instruction, Stage, parse
from runtime.images.build.dockerignore import IgnoreMatcher
from runtime.images.build.expand import Expander
from runtime.images.build.instructions import (
    ArgCommand,
    CopyCommand,
    RunCommand,
    Value,
    interpret,
)
from runtime.images.build.rootfs_view import RootfsView

# Args Docker lets RUN see without an ARG instruction (and keeps out of the image and the cache key).
PREDEFINED_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                             "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})
METADATA_KEYWORDS = frozenset({"ENV", "LABEL", "CMD", "ENTRYPOINT", "EXPOSE", "VOLUME", "USER", "STOPSIGNAL",
                               "SHELL", "HEALTHCHECK", "ONBUILD", "MAINTAINER"})
HISTORY_COMMENT = "hoist.build"


@dataclass(frozen=True)
class BuildRequest:
    context: Path
    dockerfile: str | None = None  # path, relative to the context unless absolute; default "Dockerfile"
    dockerfile_inline: str | None = None
    tags: Sequence[str] = ()
    args: Mapping[str, str | None] = field(default_factory=dict)  # None: take the value from the environment
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False
    network: str | None = None  # default (= host), host, none
    extra_hosts: Sequence[tuple[str, str]] = ()
    shm_size: int | None = None


EventKind = Literal["step", "cached", "output", "done", "warning", "info"]


@dataclass(frozen=True)
class BuildEvent:
    kind: EventKind
    text: str
    step: int = 0  # 1-based step number over the whole build
    total: int = 0
    stage: str = ""
    seconds: float = 0.0


ProgressFn = Callable[[BuildEvent], None]


def _no_progress(_event: BuildEvent) -> None:
    pass


# ----------------------------------------------------------------------------------------- entry points


def build(engine: Any, request: BuildRequest, progress: ProgressFn | None = None) -> ImageInfo:
    """Build the image ``request`` describes and tag it with ``request.tags``; returns the stored image."""
    return _Build(engine, request, progress or _no_progress).run()


def build_service_image(engine: Any, build_section: Any, ref: str, *, no_cache: bool = False, pull: bool = False,
                        build_args: Mapping[str, str] | None = None, quiet: bool = False,
                        progress: ProgressFn | None = None) -> ImageInfo:
    """The compose side's entry: a service's ``build:`` (any object with the compose model's fields)."""
    args: dict[str, str | None] = dict(getattr(build_section, "args", None) or {})
    args.update(build_args or {})
    hosts: list[tuple[str, str]] = []
    for name, ips in (getattr(build_section, "extra_hosts", None) or {}).items():
        for ip in ips if isinstance(ips, list | tuple) else [ips]:
            hosts.append((name, ip))
    request = BuildRequest(
        context=Path(getattr(build_section, "context", ".") or "."),
        dockerfile=getattr(build_section, "dockerfile", None),
        dockerfile_inline=getattr(build_section, "dockerfile_inline", None),
        tags=[ref], args=args, target=getattr(build_section, "target", None),
        labels=dict(getattr(build_section, "labels", None) or {}),
        no_cache=no_cache or bool(getattr(build_section, "no_cache", False)),
        pull=pull or bool(getattr(build_section, "pull", False)),
        network=getattr(build_section, "network", None), extra_hosts=hosts,
        shm_size=getattr(build_section, "shm_size", None))
    if progress is None and not quiet:
        from runtime.images.build.progress import plain_printer

        progress = plain_printer()
    return build(engine, request, progress)


def read_dockerfile(request: BuildRequest) -> tuple[str, str]:
    """(text, name shown in messages)."""
    if request.dockerfile_inline is not None:
        return request.dockerfile_inline, "Dockerfile (inline)"
    name = request.dockerfile or "Dockerfile"
    path = Path(name) if os.path.isabs(name) else Path(request.context) / name
    try:
        return path.read_text(), name
    except FileNotFoundError:
        raise BuildError(f"cannot read the Dockerfile: {path} does not exist",
                         hint="give its path with -f, relative to the context directory") from None
    except OSError as exc:
        raise BuildError(f"cannot read the Dockerfile {path}: {exc.strerror}") from None


# ------------------------------------------------------------------------------------------ the build


@dataclass
class _StageResult:
    state: ImageState
    key: str
    intermediates: list[str] = field(default_factory=list)  # image ids written for this stage's steps


class _Build:
    def __init__(self, engine: Any, request: BuildRequest, progress: ProgressFn) -> None:
        self.engine = engine
        self.store = engine.images
        self.request = request
        self.progress = progress
        self.cache = BuildCache(engine.root)
        self.context_dir = Path(request.context).resolve()
        if not self.context_dir.is_dir():
            raise BuildError(f"the build context {request.context} is not a directory",
                             hint="give the directory holding the Dockerfile and the files it copies")
        text, self.file = read_dockerfile(request)
        self.df: Dockerfile = parse(text, self.file)
        dockerfile_path = None
        if request.dockerfile and request.dockerfile_inline is None:
            dockerfile_path = Path(request.dockerfile) if os.path.isabs(request.dockerfile) else \
                self.context_dir / request.dockerfile
        self.context = BuildContext(self.context_dir, IgnoreMatcher.from_context(self.context_dir, dockerfile_path),
                                    stat_cache=engine.root / "build-cache" / "stat-cache.json")
        # `--build-arg NAME` without a value takes NAME from the environment; unset there, it is not passed.
        resolved = {k: (v if v is not None else os.environ.get(k)) for k, v in request.args.items()}
        self.build_args: dict[str, str] = {k: v for k, v in resolved.items() if v is not None}
        self.consumed: set[str] = set()
        self.results: dict[int, _StageResult] = {}
        self.current: _StageResult | None = None  # the stage being built
        self._bridge_ok: bool | None = None
        self.copies = CopyRunner(self)
        self._made_bridge = False
        self.step = 0
        self.total = 0
        self.tmp_root = engine.root / "build-tmp"

    # ------------------------------------------------------------------------------------ helpers

    def emit(self, kind: EventKind, text: str, stage: str = "", seconds: float = 0.0) -> None:
        self.progress(BuildEvent(kind=kind, text=text, step=self.step, total=self.total, stage=stage,
                                 seconds=seconds))

    def error(self, inst: Instruction, message: str, hint: str | None = None) -> DockerfileError:
        return DockerfileError(message, file=self.file, line=inst.line, instruction=inst.original, hint=hint)

    def blob_exists(self, digest: str) -> bool:
        return bool(self.store.blobs.exists(digest))

    # ------------------------------------------------------------------------------------- planning

    def _global_args(self) -> dict[str, str]:
        # BuildKit's automatic platform args are in the global scope without being declared.
        values: dict[str, str] = dict(_platform_args())
        for inst in self.df.global_args:
            cmd = interpret(inst, Expander(values, self.df.escape), self.file)
            assert isinstance(cmd, ArgCommand)
            for name, default in cmd.args:
                if name in self.build_args:
                    values[name] = self.build_args[name]
                    self.consumed.add(name)
                elif default is not None:
                    values[name] = default
        return values

    def _validate(self) -> None:
        """Interpret every instruction once with no variables: syntax errors surface before any step runs."""
        for stage in self.df.stages:
            for inst in stage.instructions:
                if inst.keyword in ("WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER") and "$" in inst.args:
                    continue  # may be empty until its variables are known
                try:
                    interpret(inst, _Lenient(self.df.escape), self.file)
                except DockerfileError as exc:
                    if "requires a non-empty value" in exc.reason:
                        continue
                    raise

    def _base_ref(self, stage: Stage, global_args: dict[str, str]) -> str:
        x = Expander(global_args, self.df.escape)
        try:
            ref = x.word(stage.base)
        except ValueError as exc:
            raise DockerfileError(str(exc), file=self.file, line=stage.line,
                                  instruction=stage.from_instruction.original) from None
        if not ref:
            raise DockerfileError("base name (" + stage.base + ") should not be blank", file=self.file,
                                  line=stage.line, instruction=stage.from_instruction.original,
                                  hint="pass the ARG it uses with --build-arg, or give it a default")
        return ref

    def _needed_stages(self, target: int, bases: dict[int, str]) -> list[int]:
        needed: set[int] = set()
        todo = [target]
        while todo:
            index = todo.pop()
            if index in needed:
                continue
            needed.add(index)
            dep = self.df.stage_index(bases[index])
            if dep is not None and dep < index:
                todo.append(dep)
            for inst in self.df.stages[index].instructions:
                if inst.keyword == "COPY":
                    src = inst.flag("from")
                    if src is not None:
                        dep = self.df.stage_index(src)
                        if dep is not None:
                            if dep >= index:
                                raise self.error(inst, f"COPY --from={src} refers to this stage or a later one",
                                                 hint="a stage can only copy from stages above it")
                            todo.append(dep)
        return sorted(needed)

    # ------------------------------------------------------------------------------------------- run

    def run(self) -> ImageInfo:
        started = time.monotonic()
        for warning in self.df.warnings:
            self.emit("warning", warning)
        self._validate()
        global_args = self._global_args()
        bases = {s.index: self._base_ref(s, global_args) for s in self.df.stages}
        target = len(self.df.stages) - 1
        if self.request.target:
            found = self.df.stage_index(self.request.target)
            if found is None or not self.df.stages[found].name:
                names = ", ".join(s.name for s in self.df.stages if s.name) or "none"
                raise BuildError(f"target stage {self.request.target!r} could not be found in {self.file}",
                                 hint=f"the named stages are: {names}")
            target = found
        order = self._needed_stages(target, bases)
        self.total = sum(1 + len(self.df.stages[i].instructions) for i in order)
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        try:
            for index in order:
                self.results[index] = self._build_stage(self.df.stages[index], bases[index], global_args)
        except BaseException:
            self._drop_intermediates(None, None)
            raise
        finally:
            self._remove_made_bridge()
        final = self.results[target]
        self.context.forget_unread()
        info = self._finish(final)
        self._drop_intermediates(target, info.id)
        unused = sorted(set(self.build_args) - self.consumed - PREDEFINED_ARGS)
        if unused:
            self.emit("warning", f"one or more build-args {unused} were not consumed")
        self.emit("info", f"built {info.id[:19]} in {time.monotonic() - started:.2f}s")
        return info

    def _finish(self, final: _StageResult) -> ImageInfo:
        labels = dict(self.request.labels)
        key = step_key(final.key, "final", labels)
        state = None if self.request.no_cache else self.cache.get(key, self.blob_exists)
        if state is not None and state.image_id and self.store.exists(state.image_id):
            image_id = state.image_id
        else:
            state = final.state.copy()
            if labels:
                config = state.config.setdefault("config", {})
                config["Labels"] = {**(config.get("Labels") or {}), **labels}
            state.config["created"] = _now()
            info = self.store.write_image(metadata.finish(state.config), state.layers)
            state.image_id = info.id
            self.cache.put(key, state)
            image_id = info.id
        for tag in self.request.tags:
            self.store.tag(image_id, tag)
        return self.store.resolve(image_id)

    def _drop_intermediates(self, target: int | None, final_id: str | None) -> None:
        """Remove the intermediate images this build wrote, keeping every layer the cache still names.

        After a success, the final image holds all the layers of its stage; a stage whose layers are not
        all in it keeps one image of its final state, so its cached steps stay valid. After a failure, each
        stage keeps its last intermediate (the longest prefix of its layers). Every other one goes.
        """
        keep: set[str] = set()
        if target is not None and final_id is not None:
            final_layers = set(self.results[target].state.layers)
            keep.add(final_id)
            for index, res in self.results.items():
                if index != target and not set(res.state.layers) <= final_layers:
                    keep.add(self._materialize(res))
        else:
            keep = {res.intermediates[-1] for res in self._all_results() if res.intermediates}
        for res in self._all_results():
            for image_id in res.intermediates:
                if image_id in keep:
                    continue
                try:
                    if not self.store.resolve(image_id).tags:
                        self.store.remove(image_id)
                except RuntimeErrorBase:
                    pass

    def _all_results(self) -> list[_StageResult]:
        out = list(self.results.values())
        if self.current is not None and all(r is not self.current for r in out):
            out.append(self.current)
        return out

    # ---------------------------------------------------------------------------------------- stages

    def _build_stage(self, stage: Stage, base: str, global_args: dict[str, str]) -> _StageResult:
        label = stage.name or f"stage-{stage.index}"
        self.step += 1
        t0 = time.monotonic()
        self.emit("step", f"FROM {base}" + (f" AS {stage.name}" if stage.name else ""), label)
        self._check_platform(stage, global_args)
        dep = self.df.stage_index(base)
        if dep is not None and dep in self.results:
            state = self.results[dep].state.copy()
            key = step_key(self.results[dep].key, "FROM-stage")
        elif base == "scratch":
            state = ImageState(config=_scratch_config())
            key = step_key("", "FROM", "scratch")
        else:
            try:
                state, image_id = self._base_image(base, label)
            except RuntimeErrorBase as exc:
                raise DockerfileError(exc.message, file=self.file, line=stage.line,
                                      instruction=stage.from_instruction.original, hint=exc.hint) from None
            key = step_key("", "FROM", image_id)
        config = state.config.setdefault("config", {})
        config.pop("_cmd_set_in_stage", None)
        if "PATH" not in metadata.env_of(config):
            # As BuildKit does: an image without PATH gets the default one, for its RUNs and its containers.
            metadata.set_env(config, [("PATH", metadata.DEFAULT_PATH)])
        triggers = list(config.pop("OnBuild", None) or [])
        self.emit("done", "", label, time.monotonic() - t0)
        result = _StageResult(state=state, key=key)
        self.current = result
        scope: dict[str, str] = {}  # ARGs in this stage (name -> value), only those with a value
        instructions = self._onbuild_instructions(triggers, stage) + stage.instructions
        if triggers:
            self.total += len(triggers)
        for inst in instructions:
            self._step(inst, result, scope, global_args, label)
        return result

    def _check_platform(self, stage: Stage, global_args: dict[str, str]) -> None:
        """FROM --platform: only this host's platform can run RUN steps; another one is an error."""
        if not stage.platform:
            return
        from runtime.images.config import host_architecture

        wanted = Expander(global_args, self.df.escape).word(stage.platform)
        os_name, _, arch = wanted.partition("/")
        if os_name != "linux" or (arch and arch.split("/")[0] != host_architecture()):
            raise DockerfileError(f"FROM --platform={wanted}: hoist builds only for this host's platform "
                                  f"(linux/{host_architecture()})", file=self.file, line=stage.line,
                                  instruction=stage.from_instruction.original,
                                  hint="drop --platform, or build on a machine of that platform")

    def _onbuild_instructions(self, triggers: list[str], stage: Stage) -> list[Instruction]:
        out = []
        for trigger in triggers:
            try:
                parsed = parse(f"FROM scratch\n{trigger}\n", "ONBUILD")
            except DockerfileError as exc:
                raise DockerfileError(f"invalid ONBUILD trigger {trigger!r} in the base image: {exc.reason}",
                                      file=self.file, line=stage.line, instruction=stage.from_instruction.original) \
                    from None
            for inst in parsed.stages[0].instructions:
                out.append(Instruction(keyword=inst.keyword, args=inst.args, line=stage.line,
                                       end_line=stage.line, original=f"ONBUILD {inst.original}", flags=inst.flags,
                                       json_args=inst.json_args, heredocs=inst.heredocs))
        return out

    def _base_image(self, ref: str, label: str) -> tuple[ImageState, str]:
        if self.request.pull or not self.store.exists(ref):
            self.pull_base(ref, label)
        info = self.store.resolve(ref)
        doc = self.store.image_config_json(info.id)
        manifest = self.store.manifest_json(info.id)
        layers = [d["digest"] for d in manifest.get("layers") or []]
        diff_ids = list((doc.get("rootfs") or {}).get("diff_ids") or [])
        doc = {k: v for k, v in doc.items() if k not in ("rootfs",)}
        doc.setdefault("history", [])
        return ImageState(config=doc, layers=layers, diff_ids=diff_ids, image_id=info.id), info.id

    def pull_base(self, ref: str, label: str) -> None:
        from runtime.images.pull import pull_image

        self.emit("output", f"pulling {ref}", label)
        try:
            pull_image(self.store, ref)
        except RuntimeErrorBase as exc:
            if self.store.exists(ref) and self.request.pull:
                self.emit("warning", f"could not pull {ref} ({exc.message}); using the local image")
                return
            raise BuildError(f"base image {ref} is not in the image store and could not be pulled: {exc.message}",
                             hint="make a local base with 'hoist image base debian|busybox', or load/import it")\
                from None

    # ----------------------------------------------------------------------------------------- steps

    def _expander(self, state: ImageState, scope: dict[str, str]) -> Expander:
        env = dict(scope)
        env.update(metadata.env_of(state.config.get("config") or {}))
        return Expander(env, self.df.escape)

    def _step(self, inst: Instruction, result: _StageResult, scope: dict[str, str],
              global_args: dict[str, str], label: str) -> None:
        self.step += 1
        t0 = time.monotonic()
        self.emit("step", inst.original, label)
        state = result.state
        config = state.config.setdefault("config", {})
        x = self._expander(state, scope)
        cmd = interpret(inst, x, self.file)
        for warning in getattr(cmd, "warnings", []) or []:
            self.emit("warning", f"{self.file}:{inst.line}: {warning}", label)
        if isinstance(cmd, ArgCommand):
            for name, default in cmd.args:
                if name in self.build_args:
                    scope[name] = self.build_args[name]
                    self.consumed.add(name)
                elif default is not None:
                    scope[name] = default
                elif name in global_args:
                    scope[name] = global_args[name]  # a global ARG (or a platform arg) re-declared
            result.key = step_key(result.key, "ARG", sorted((n, scope.get(n)) for n, _ in cmd.args))
            self.emit("done", "", label, time.monotonic() - t0)
            return
        used = sorted((name, x.env.get(name)) for name in x.used)
        if inst.keyword in METADATA_KEYWORDS or inst.keyword == "WORKDIR":
            key = step_key(result.key, inst.keyword, repr(cmd), used)
        elif isinstance(cmd, RunCommand):
            args_in_scope = sorted((k, v) for k, v in scope.items())
            wanted_network = cmd.network or self.request.network or "default"
            key = step_key(result.key, "RUN", repr(cmd), metadata.shell_of(config), args_in_scope,
                           wanted_network if wanted_network in ("none", "host") else "default",
                           sorted(self.request.extra_hosts), self.request.shm_size)
        else:
            assert isinstance(cmd, CopyCommand)
            key = step_key(result.key, inst.keyword, repr(cmd), used, config.get("WorkingDir") or "/",
                           self.copies.source_digest(inst, cmd))
        cached = None if self.request.no_cache else self.cache.get(key, self.blob_exists)
        if cached is not None:
            result.state = cached
            result.key = key
            self.emit("cached", inst.original, label, time.monotonic() - t0)
            return
        new_state = state.copy()
        new_state.image_id = None
        if inst.keyword in METADATA_KEYWORDS:
            metadata.apply(new_state.config.setdefault("config", {}), inst.keyword, cmd)
            _history(new_state, inst.original, empty=True)
        elif inst.keyword == "WORKDIR":
            assert isinstance(cmd, Value)
            self._workdir(result, new_state, cmd.value, inst)
        elif isinstance(cmd, RunCommand):
            self._run(result, new_state, cmd, inst, scope, label)
        else:
            assert isinstance(cmd, CopyCommand)
            self.copies.run(result, new_state, cmd, inst, label)
        self.cache.put(key, new_state)
        result.state = new_state
        result.key = key
        self.emit("done", "", label, time.monotonic() - t0)

    # ----------------------------------------------------------------------------- materialisation

    def _materialize(self, result: _StageResult) -> str:
        """An image in the store holding exactly the state so far (written when there is none yet)."""
        state = result.state
        if state.image_id and self.store.exists(state.image_id):
            return state.image_id
        info = self.store.write_image(metadata.finish(state.config), state.layers)
        state.image_id = info.id
        result.intermediates.append(info.id)
        self.cache.put(result.key, state)  # the next build can run on it without writing it again
        return info.id

    def view_of(self, result: _StageResult) -> RootfsView:
        if not result.state.layers:
            return RootfsView([])
        image_id = self._materialize(result)
        return RootfsView(self.store.rootfs_layers(image_id))

    def commit_layer(self, state: ImageState, directory: Path, *, overlay: bool, created_by: str) -> None:
        diff_id, digest = self.store.commit_layer(directory, overlay_whiteouts=overlay)
        state.layers.append(digest)
        state.diff_ids.append(diff_id)
        _history(state, created_by, empty=False)

    # ------------------------------------------------------------------------------------- WORKDIR

    def _workdir(self, result: _StageResult, state: ImageState, path: str, inst: Instruction) -> None:
        config = state.config.setdefault("config", {})
        new = metadata.workdir(config, path)
        view = self.view_of(result)
        if view.is_dir(new):
            _history(state, inst.original, empty=True)
            return
        staging = Path(tempfile.mkdtemp(prefix="workdir-", dir=self.tmp_root))
        try:
            LayerWriter(staging, view, None, None, lambda _m: None).ensure_dir(new)
            self.commit_layer(state, staging, overlay=False, created_by=inst.original)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # ----------------------------------------------------------------------------------------- RUN

    def _network(self, cmd: RunCommand) -> str:
        """The network mode a RUN gets: "default" is the default bridge network, as in Docker (the host's
        network when this runtime has no bridge networking), "host" or "none"."""
        wanted = cmd.network or self.request.network or "default"
        if wanted in ("none", "host"):
            return wanted
        if self._bridge_ok is None:
            try:
                names = {n.name for n in self.engine.network_list()}
                self._bridge_ok = True
                self._made_bridge = "bridge" not in names
            except RuntimeErrorBase:
                self._bridge_ok = False
        return "bridge" if self._bridge_ok else "host"

    def _remove_made_bridge(self) -> None:
        """A build leaves no network behind: the default bridge goes again if this build made it (and it is
        unused: a concurrent build or a container still on it keeps it)."""
        if not self._made_bridge:
            return
        try:
            self.engine.network_remove("bridge")
        except RuntimeErrorBase:
            pass

    def _run(self, result: _StageResult, state: ImageState, cmd: RunCommand, inst: Instruction,
             scope: dict[str, str], label: str) -> None:
        from runtime.images.build import run_step

        config = state.config.get("config") or {}
        argv = cmd.argv if cmd.argv is not None else [*metadata.shell_of(config), cmd.script or ""]
        network = self._network(cmd)
        image_id = self._materialize(result)
        view = RootfsView(self.store.rootfs_layers(image_id))
        env = run_step.run_env(metadata.env_of(config), {**{k: v for k, v in self.build_args.items()
                                                            if k in PREDEFINED_ARGS}, **scope})
        request = run_step.RunRequest(
            image_id=image_id, argv=argv, env=env, working_dir=config.get("WorkingDir") or None,
            user=config.get("User") or None, network=network, extra_hosts=list(self.request.extra_hosts),
            shm_size=self.request.shm_size, mounts=list(cmd.mounts), context=self.context_dir)

        def output(stream: str, text: str) -> None:
            self.emit("output", text.rstrip("\n"), label)

        try:
            run = run_step.run_container(self.engine, request, output)
        except RuntimeErrorBase as exc:
            raise self.error(inst, f"RUN could not start: {exc.message}", hint=exc.hint) from None
        try:
            if run.exit_code != 0:
                shown = " ".join(argv) if cmd.argv is not None else (cmd.script or "")
                raise self.error(inst, f"RUN failed: the command {_quote(shown)} did not complete successfully: "
                                 f"exit code: {run.exit_code}",
                                 hint="the step's output is above; fix the command and build again")
            assert run.upper is not None
            run_step.strip_runtime_files(run.upper, view, [m.target for m in cmd.mounts])
            created_by = "RUN " + (_json(cmd.argv) if cmd.argv is not None else
                                   " ".join(metadata.shell_of(config)) + " " + (cmd.script or ""))
            self.commit_layer(state, run.upper, overlay=True, created_by=created_by)
        finally:
            run_step.remove_container(self.engine, run.container_id)

# ------------------------------------------------------------------------------------------- helpers


class _Lenient(Expander):
    """An expander for validation: every variable is unset, and nothing is recorded."""

    def __init__(self, escape: str) -> None:
        super().__init__({}, escape)


def _history(state: ImageState, created_by: str, *, empty: bool) -> None:
    entry: dict[str, Any] = {"created": _now(), "created_by": created_by, "comment": HISTORY_COMMENT}
    if empty:
        entry["empty_layer"] = True
    state.config.setdefault("history", []).append(entry)


def _now() -> str:
    from runtime.images.config import now_rfc3339

    return now_rfc3339()


def _platform_args() -> dict[str, str]:
    """TARGETPLATFORM, BUILDARCH and friends: hoist builds for the host's platform only."""
    from runtime.images.config import host_architecture

    arch = host_architecture()
    out = {}
    for prefix in ("TARGET", "BUILD"):
        out.update({f"{prefix}PLATFORM": f"linux/{arch}", f"{prefix}OS": "linux", f"{prefix}ARCH": arch,
                    f"{prefix}VARIANT": ""})
    return out


def _scratch_config() -> dict[str, Any]:
    from runtime.images.config import host_architecture

    return {"architecture": host_architecture(), "os": "linux", "config": {}, "history": []}


def _json(argv: list[str]) -> str:
    import json

    return json.dumps(argv)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return '"' + (text if len(text) <= 120 else text[:119] + "…") + '"'
