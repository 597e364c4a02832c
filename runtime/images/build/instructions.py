"""Typed meaning of each Dockerfile instruction, with variable substitution where Docker applies it.

``interpret(inst, expander, file)`` turns a parsed :class:`Instruction` into one of the command dataclasses
below. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are never substituted (the shell does that when
the command runs); ENV, ARG, LABEL, EXPOSE, WORKDIR, USER, VOLUME, STOPSIGNAL, COPY/ADD (and their flags) are.
Called with an empty environment it doubles as a syntax check of the whole Dockerfile before anything runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.images.build.dockerfile import DockerfileError, Heredoc, Instruction, parse_words
from runtime.images.build.expand import Expander, ExpansionError

# Flags each instruction accepts (all others are errors, as in Docker).
ALLOWED_FLAGS: dict[str, frozenset[str]] = {
    "RUN": frozenset({"mount", "network", "security"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
    "FROM": frozenset({"platform"}),
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RunMount:
    type: str  # cache, tmpfs, bind (others are ignored with a warning)
    target: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunCommand:
    argv: list[str] | None  # exec form
    script: str | None  # shell form: the text given to the shell
    mounts: list[RunMount] = field(default_factory=list)
    network: str | None = None  # default, none, host
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExecOrShell:
    """CMD / ENTRYPOINT: the exec form as given, or the shell form (wrapped in the stage's SHELL later)."""

    argv: list[str] | None
    script: str | None


@dataclass(frozen=True)
class KeyValues:
    """ENV and LABEL."""

    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class ArgCommand:
    args: list[tuple[str, str | None]]  # name, default (None: no default)


@dataclass(frozen=True)
class Words:
    """EXPOSE and VOLUME."""

    words: list[str]


@dataclass(frozen=True)
class Value:
    """WORKDIR, USER, STOPSIGNAL, MAINTAINER, ONBUILD."""

    value: str


@dataclass(frozen=True)
class ShellCommand:
    argv: list[str]


@dataclass(frozen=True)
class HealthcheckCommand:
    test: list[str]  # ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None


@dataclass(frozen=True)
class CopySource:
    path: str  # relative to the context (or the stage's root for --from), or a heredoc's name
    heredoc: Heredoc | None = None


@dataclass(frozen=True)
class CopyCommand:
    add: bool
    sources: list[CopySource]
    dest: str
    from_: str | None = None
    chown: str | None = None
    chmod: int | None = None
    link: bool = False
    parents: bool = False  # keep each source's path below the context (COPY --parents)
    excludes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


Command = (RunCommand | ExecOrShell | KeyValues | ArgCommand | Words | Value | ShellCommand | HealthcheckCommand
           | CopyCommand)


def parse_duration(text: str) -> float:
    """A Go duration ("30s", "1m30s", "500ms") in seconds."""
    if text in ("0", ""):
        return 0.0
    pos = 0
    total = 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"invalid duration {text!r}")
    return total


class _Ctx:
    def __init__(self, inst: Instruction, expander: Expander, file: str) -> None:
        self.inst = inst
        self.x = expander
        self.file = file

    def error(self, message: str, hint: str | None = None) -> DockerfileError:
        return DockerfileError(message, file=self.file, line=self.inst.line, instruction=self.inst.original,
                               hint=hint)

    def word(self, text: str) -> str:
        try:
            return self.x.word(text)
        except ExpansionError as exc:
            raise self.error(str(exc), hint="check the ${...} substitutions of this line") from None

    def words(self, text: str) -> list[str]:
        try:
            return self.x.words(text)
        except ExpansionError as exc:
            raise self.error(str(exc), hint="check the ${...} substitutions of this line") from None


def interpret(inst: Instruction, expander: Expander, file: str = "Dockerfile") -> Command:
    ctx = _Ctx(inst, expander, file)
    allowed = ALLOWED_FLAGS.get(inst.keyword, frozenset())
    for name, _ in inst.flags:
        if name not in allowed:
            raise ctx.error(f"unknown flag for {inst.keyword}: --{name}",
                            hint=f"{inst.keyword} accepts " + (", ".join(f"--{f}" for f in sorted(allowed))
                                                               if allowed else "no flags"))
    handler = _HANDLERS[inst.keyword]
    return handler(ctx)


def _require_args(ctx: _Ctx) -> None:
    if not ctx.inst.args and ctx.inst.json_args is None:
        raise ctx.error(f"{ctx.inst.keyword} requires at least one argument")


def _run(ctx: _Ctx) -> RunCommand:
    inst = ctx.inst
    _require_args(ctx)
    mounts: list[RunMount] = []
    warnings: list[str] = []
    for spec in inst.flag_values("mount"):
        mount = _parse_mount(ctx, spec)
        if mount.type in ("cache", "tmpfs", "bind"):
            mounts.append(mount)
        else:
            warnings.append(f"RUN --mount=type={mount.type} is not supported by hoist and was ignored")
    network = inst.flag("network")
    if network is not None and network not in ("default", "none", "host"):
        raise ctx.error(f"invalid RUN --network={network}", hint="use default, none or host")
    if inst.flag("security") not in (None, "sandbox"):
        warnings.append("RUN --security=insecure is not supported; the step runs sandboxed")
    if inst.json_args is not None:
        return RunCommand(argv=list(inst.json_args), script=None, mounts=mounts, network=network,
                          warnings=warnings)
    script = inst.args
    if inst.heredocs:
        only = re.fullmatch(r"<<-?([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1", inst.args.strip())
        if only is not None and len(inst.heredocs) == 1:
            script = _heredoc_script(inst.heredocs[0])  # RUN <<EOF: the body is the script
        else:
            script = inst.args + "\n" + inst.raw_heredoc_text  # the shell reads the heredocs itself
    return RunCommand(argv=None, script=script, mounts=mounts, network=network, warnings=warnings)


def _heredoc_script(doc: Heredoc) -> str:
    """The shell text that runs a ``RUN <<EOF`` body: the body itself, or, when it starts with ``#!``, a file
    written to /dev/shm (a tmpfs: nothing lands in the layer) run by the interpreter the shebang names."""
    if not doc.content.startswith("#!"):
        return doc.content
    interpreter = doc.content.splitlines()[0][2:].strip()
    marker = "HOIST_HEREDOC_" + hashlib.sha256(doc.content.encode()).hexdigest()[:16]
    path = f"/dev/shm/.hoist-heredoc-{marker[-8:]}"
    return f"cat > {path} <<'{marker}'\n{doc.content}{marker}\n{interpreter} {path}"


def _parse_mount(ctx: _Ctx, spec: str) -> RunMount:
    options: dict[str, str] = {}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        options[key] = value if eq else "true"
    kind = options.pop("type", "bind")
    target = options.pop("target", None) or options.pop("dst", None) or options.pop("destination", None)
    if not target and kind not in ("secret", "ssh"):
        raise ctx.error(f"RUN --mount={spec}: a mount needs target=<path>")
    return RunMount(type=kind, target=target or "", options=options)


def _exec_or_shell(ctx: _Ctx) -> ExecOrShell:
    _require_args(ctx)
    if ctx.inst.json_args is not None:
        return ExecOrShell(argv=list(ctx.inst.json_args), script=None)
    return ExecOrShell(argv=None, script=ctx.inst.args)


def _key_values(ctx: _Ctx) -> KeyValues:
    inst = ctx.inst
    words = parse_words(inst.args, ctx.x.escape)
    if not words:
        raise ctx.error(f"{inst.keyword} requires at least one argument")
    if "=" not in words[0]:
        # The legacy form: ENV name value (the value is the rest of the line).
        parts = re.split(r"\s+", inst.args, maxsplit=1)
        if len(parts) < 2:
            raise ctx.error(f"{inst.keyword} {parts[0]} has no value",
                            hint=f"write {inst.keyword} {parts[0]}=<value>")
        return KeyValues([(ctx.word(parts[0]), ctx.word(parts[1]))])
    pairs = []
    for word in words:
        if "=" not in word:
            raise ctx.error(f"syntax error - can't find = in {word!r}. Must be of the form: name=value")
        key, _, value = word.partition("=")
        key = ctx.word(key)
        if not key:
            raise ctx.error(f"{inst.keyword} names cannot be empty")
        pairs.append((key, ctx.word(value)))
    return KeyValues(pairs)


def _arg(ctx: _Ctx) -> ArgCommand:
    words = parse_words(ctx.inst.args, ctx.x.escape)
    if not words:
        raise ctx.error("ARG requires at least one argument")
    out: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, default = word.partition("=")
        name = ctx.word(name)
        if not _ARG_NAME.match(name):
            raise ctx.error(f"invalid ARG name {name!r}", hint="use letters, digits and '_'")
        out.append((name, ctx.word(default) if eq else None))
    return ArgCommand(out)


def _expose(ctx: _Ctx) -> Words:
    _require_args(ctx)
    ports = ctx.words(ctx.inst.args)
    for port in ports:
        if not re.fullmatch(r"\d+(-\d+)?(/(tcp|udp|sctp))?", port, re.IGNORECASE):
            raise ctx.error(f"invalid port {port!r} in EXPOSE", hint="write PORT[/PROTOCOL], e.g. 8080/tcp")
    return Words(ports)


def _volume(ctx: _Ctx) -> Words:
    _require_args(ctx)
    raw = list(ctx.inst.json_args) if ctx.inst.json_args is not None else None
    paths = [ctx.word(p) for p in raw] if raw is not None else ctx.words(ctx.inst.args)
    if not paths or any(not p.strip() for p in paths):
        raise ctx.error("VOLUME specified can not be an empty string")
    return Words(paths)


def _single(ctx: _Ctx) -> Value:
    _require_args(ctx)
    value = ctx.word(ctx.inst.args)
    if not value:
        raise ctx.error(f"{ctx.inst.keyword} requires a non-empty value")
    return Value(value)


def _stopsignal(ctx: _Ctx) -> Value:
    value = _single(ctx).value
    if not re.fullmatch(r"(SIG)?[A-Z0-9+-]+|\d+", value.upper()):
        raise ctx.error(f"invalid STOPSIGNAL {value!r}", hint="use a signal name (SIGTERM) or number (15)")
    return Value(value)


def _shell(ctx: _Ctx) -> ShellCommand:
    if ctx.inst.json_args is None or not ctx.inst.json_args:
        raise ctx.error("SHELL requires the arguments to be in JSON form", hint='write SHELL ["/bin/bash", "-c"]')
    return ShellCommand(list(ctx.inst.json_args))


def _healthcheck(ctx: _Ctx) -> HealthcheckCommand:
    inst = ctx.inst
    words = inst.args.split(None, 1)
    if not words:
        raise ctx.error("HEALTHCHECK requires an argument: NONE or CMD <command>")
    kind = words[0].upper()
    if kind == "NONE":
        if len(words) > 1 or inst.flags:
            raise ctx.error("HEALTHCHECK NONE takes no other arguments or options")
        return HealthcheckCommand(test=["NONE"])
    if kind != "CMD" or len(words) < 2:
        raise ctx.error("HEALTHCHECK must be NONE or CMD <command>",
                        hint="write HEALTHCHECK [OPTIONS] CMD <command>")
    from runtime.images.build.dockerfile import _json_array

    argv = _json_array(words[1].strip())
    test = ["CMD", *argv] if argv is not None else ["CMD-SHELL", words[1].strip()]

    def duration(name: str) -> float | None:
        value = inst.flag(name)
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError:
            raise ctx.error(f"invalid HEALTHCHECK --{name}={value}", hint="use a duration such as 30s or 1m30s") \
                from None
        if 0 < seconds < 0.001:
            raise ctx.error(f"HEALTHCHECK --{name} cannot be less than 1ms")
        return seconds

    retries = inst.flag("retries")
    if retries is not None and not retries.isdigit():
        raise ctx.error(f"invalid HEALTHCHECK --retries={retries}", hint="use a whole number")
    return HealthcheckCommand(test=test, interval=duration("interval"), timeout=duration("timeout"),
                              start_period=duration("start-period"), start_interval=duration("start-interval"),
                              retries=int(retries) if retries is not None else None)


def _onbuild(ctx: _Ctx) -> Value:
    _require_args(ctx)
    trigger = ctx.inst.args.split(None, 1)[0].upper()
    if trigger in ("ONBUILD", "FROM", "MAINTAINER"):
        raise ctx.error(f"{trigger} isn't allowed as an ONBUILD trigger")
    flags = " ".join(f"--{k}" + (f"={v}" if v is not None else "") for k, v in ctx.inst.flags)
    return Value((flags + " " + ctx.inst.args).strip())


def _copy(ctx: _Ctx) -> CopyCommand:
    inst = ctx.inst
    add = inst.keyword == "ADD"
    if inst.json_args is not None:
        raw = list(inst.json_args)
        words = [ctx.word(w) for w in raw]
    else:
        raw = inst.args.split()
        words = []
        for w in raw:
            words.append(w if _is_heredoc_word(w) else ctx.word(w))
    if len(words) < 2:
        raise ctx.error(f"{inst.keyword} requires at least two arguments: {inst.keyword} <src>... <dest>")
    *srcs, dest = words
    docs = {d.name: d for d in inst.heredocs}
    sources: list[CopySource] = []
    for src in srcs:
        m = re.fullmatch(r"<<-?([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1", src)
        if m and m.group(2) in docs:
            doc = docs[m.group(2)]
            if doc.expand:
                try:
                    doc = Heredoc(name=doc.name, content=_expand_heredoc(ctx, doc.content), expand=True,
                                  strip_tabs=doc.strip_tabs)
                except ExpansionError as exc:
                    raise ctx.error(str(exc)) from None
            sources.append(CopySource(path=doc.name, heredoc=doc))
        else:
            sources.append(CopySource(path=src))
    chmod_text = inst.flag("chmod")
    chmod: int | None = None
    if chmod_text is not None:
        chmod_text = ctx.word(chmod_text)
        if not re.fullmatch(r"[0-7]{1,4}", chmod_text):
            raise ctx.error(f"invalid --chmod={chmod_text}", hint="use an octal mode such as 755 or 0644")
        chmod = int(chmod_text, 8)
    chown = inst.flag("chown")
    from_ = inst.flag("from")
    warnings = []
    if add and inst.flag("checksum") is not None:
        warnings.append("ADD --checksum is only meaningful for URLs; ignored")
    link = inst.flag("link")
    parents = inst.flag("parents")
    return CopyCommand(add=add, sources=sources, dest=dest, from_=ctx.word(from_) if from_ else None,
                       chown=ctx.word(chown) if chown else None, chmod=chmod,
                       link=link is not None and link.lower() != "false",
                       parents=parents is not None and parents.lower() != "false",
                       excludes=[ctx.word(e) for e in inst.flag_values("exclude")], warnings=warnings)


def _is_heredoc_word(word: str) -> bool:
    return re.fullmatch(r"<<-?([\"']?)[A-Za-z_][A-Za-z0-9_]*\1", word) is not None


def _expand_heredoc(ctx: _Ctx, content: str) -> str:
    """An unquoted heredoc body of COPY/ADD: variables expand, quotes stay (it is file content, not a word)."""
    out: list[str] = []
    i = 0
    while i < len(content):
        ch = content[i]
        if ch == ctx.x.escape and i + 1 < len(content) and content[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if ch == "$":
            m = re.match(r"\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)", content[i:])
            if m:
                out.append(ctx.x.word(m.group(0)))
                i += m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


_HANDLERS: dict[str, Callable[[_Ctx], Command]] = {
    "RUN": _run,
    "CMD": _exec_or_shell,
    "ENTRYPOINT": _exec_or_shell,
    "ENV": _key_values,
    "LABEL": _key_values,
    "ARG": _arg,
    "EXPOSE": _expose,
    "VOLUME": _volume,
    "WORKDIR": _single,
    "USER": _single,
    "MAINTAINER": _single,
    "STOPSIGNAL": _stopsignal,
    "SHELL": _shell,
    "HEALTHCHECK": _healthcheck,
    "ONBUILD": _onbuild,
    "COPY": _copy,
    "ADD": _copy,
}
