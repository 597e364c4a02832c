"""The Dockerfile parser: text -> stages of instructions, with line numbers. Pure; no I/O but reading text.

What it handles, as Docker's parser does: parser directives at the very top (``# escape=`` sets the escape
character; ``# syntax=`` and ``# check=`` are accepted and ignored), comment lines (also inside line
continuations), line continuations with the escape character, blank lines, instruction keywords in any case,
leading ``--flag[=value]`` words, the JSON (exec) form, and heredocs (``<<EOF``, ``<<-EOF``, ``<<"EOF"``,
``<<'EOF'``) after RUN, COPY and ADD. Typed interpretation of each instruction is in
:mod:`runtime.images.build.instructions`; variable substitution in :mod:`runtime.images.build.expand`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from runtime.errors import BuildError

KEYWORDS = frozenset({
    "FROM", "RUN", "CMD", "ENTRYPOINT", "ENV", "ARG", "LABEL", "EXPOSE", "WORKDIR", "USER", "COPY", "ADD",
    "VOLUME", "SHELL", "STOPSIGNAL", "HEALTHCHECK", "ONBUILD", "MAINTAINER",
})
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")
_KNOWN_DIRECTIVES = ("escape", "syntax", "check")
# A heredoc opener: <<WORD, <<-WORD, <<"WORD", <<'WORD' (not the <<< here-string).
_HEREDOC = re.compile(r"(?<![<\w])<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2(?![\w\"'])")


class DockerfileError(BuildError):
    """A Dockerfile that cannot be parsed or built; names the file, the line and the instruction."""

    def __init__(self, message: str, *, file: str = "Dockerfile", line: int = 0, instruction: str = "",
                 hint: str | None = None) -> None:
        where = f"{file}:{line}" if line else file
        shown = f" ({_shorten(instruction)})" if instruction else ""
        super().__init__(f"{where}: {message}{shown}", hint=hint)
        self.file = file
        self.line = line
        self.instruction = instruction
        self.reason = message


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class Heredoc:
    name: str
    content: str  # the body, with a trailing newline per line (leading tabs removed for <<-)
    expand: bool  # unquoted delimiter: variables in the body are expanded (COPY/ADD) or left to the shell
    strip_tabs: bool = False


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the text after the keyword and its flags, continuations joined
    line: int  # first physical line, 1-based
    end_line: int
    original: str  # keyword + everything after it, as joined (for messages and history)
    flags: tuple[tuple[str, str | None], ...] = ()  # ("from", "builder"); value None for a bare --flag
    json_args: tuple[str, ...] | None = None  # the exec form, when args is a JSON array of strings
    heredocs: tuple[Heredoc, ...] = ()
    raw_heredoc_text: str = ""  # the bodies with their terminators, as written (for RUN's shell script)

    def flag(self, name: str) -> str | None:
        for key, value in reversed(self.flags):
            if key == name:
                return value if value is not None else "true"
        return None

    def flag_values(self, name: str) -> list[str]:
        return [v if v is not None else "true" for k, v in self.flags if k == name]


@dataclass
class Stage:
    index: int
    base: str  # as written (may contain global ARGs)
    name: str | None  # the AS name, lower-cased as Docker does
    platform: str | None
    line: int
    from_instruction: Instruction
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    file: str
    escape: str
    global_args: list[Instruction]  # ARGs before the first FROM
    stages: list[Stage]
    warnings: list[str] = field(default_factory=list)

    def stage_index(self, name: str) -> int | None:
        """The stage ``name`` refers to: an AS name (case-insensitive) or a stage number."""
        lowered = name.lower()
        for stage in self.stages:
            if stage.name == lowered:
                return stage.index
        if name.isdigit() and int(name) < len(self.stages):
            return int(name)
        return None


# --------------------------------------------------------------------------------------------- parsing


def parse(text: str, file: str = "Dockerfile") -> Dockerfile:
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    escape, start = _directives(lines, file)
    instructions, warnings = _instructions(lines, start, escape, file)
    return _stages(instructions, escape, file, warnings)


def _directives(lines: list[str], file: str) -> tuple[str, int]:
    """Parser directives: only at the very top; the first other line (even a comment) ends them."""
    seen: dict[str, str] = {}
    i = 0
    for i, line in enumerate(lines):
        m = _DIRECTIVE.match(line.strip())
        if not m:
            return seen.get("escape", "\\"), i
        name = m.group(1).lower()
        if name not in _KNOWN_DIRECTIVES:
            return seen.get("escape", "\\"), i  # an unknown directive is a comment, and ends directives
        if name in seen:
            raise DockerfileError(f"only one {name} parser directive can be used", file=file, line=i + 1,
                                  instruction=line.strip(), hint="remove the duplicate directive")
        value = m.group(2)
        if name == "escape" and value not in ("\\", "`"):
            raise DockerfileError(f"invalid escape token '{value}' does not match ` or \\", file=file,
                                  line=i + 1, instruction=line.strip(), hint="use # escape=` or # escape=\\")
        seen[name] = value
    return seen.get("escape", "\\"), len(lines)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _continues(line: str, escape: str) -> tuple[bool, str]:
    """Does the line end with the escape character (trailing blanks allowed)? Returns the line without it."""
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape):
        return True, stripped[:-1]
    return False, line


def _instructions(lines: list[str], i: int, escape: str, file: str) -> tuple[list[Instruction], list[str]]:
    out: list[Instruction] = []
    warnings: list[str] = []
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip() or _is_comment(line):
            i += 1
            continue
        first = i
        parts: list[str] = []
        more, body = _continues(line, escape)
        parts.append(body.lstrip() if not parts else body)
        i += 1
        while more and i < n:
            nxt = lines[i]
            if _is_comment(nxt):
                i += 1
                continue
            if not nxt.strip():
                warnings.append(f"{file}:{i + 1}: empty continuation line (deprecated; it will be an error)")
                i += 1
                continue
            more, body = _continues(nxt, escape)
            parts.append(body)
            i += 1
        joined = "".join(parts).strip()
        end = i
        m = re.match(r"(\S+)\s*(.*)$", joined, re.DOTALL)
        assert m is not None  # joined is not blank
        keyword, rest = m.group(1), m.group(2).strip()
        keyword_upper = keyword.upper()
        if keyword_upper not in KEYWORDS:
            raise DockerfileError(f"unknown instruction: {keyword}", file=file, line=first + 1,
                                  instruction=joined, hint="check the spelling; instructions are "
                                  + ", ".join(sorted(KEYWORDS)))
        flags, args = _split_flags(rest, keyword_upper, file, first + 1, joined)
        heredocs: list[Heredoc] = []
        raw_heredoc = ""
        json_args = _json_array(args)
        if keyword_upper in HEREDOC_KEYWORDS and json_args is None:
            heredocs, i, raw_heredoc = _read_heredocs(args, lines, i, file, first + 1, joined)
            end = i
        out.append(Instruction(keyword=keyword_upper, args=args, line=first + 1, end_line=end,
                               original=joined, flags=tuple(flags), json_args=json_args,
                               heredocs=tuple(heredocs), raw_heredoc_text=raw_heredoc))
    return out, warnings


def _split_flags(rest: str, keyword: str, file: str, line: int,
                 original: str) -> tuple[list[tuple[str, str | None]], str]:
    """Leading ``--name[=value]`` words (a value may be quoted) and the remaining text."""
    flags: list[tuple[str, str | None]] = []
    pos = 0
    while rest.startswith("--", pos):
        end = pos
        quote = ""
        while end < len(rest):
            ch = rest[end]
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch.isspace():
                break
            end += 1
        word = rest[pos + 2:end]
        if not word:  # a bare "--" ends the flags
            pos = end
            break
        name, eq, value = word.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
            raise DockerfileError(f"invalid flag --{name}", file=file, line=line, instruction=original)
        flags.append((name, value if eq else None))
        pos = end
        while pos < len(rest) and rest[pos].isspace():
            pos += 1
    return flags, rest[pos:].strip()


def _json_array(args: str) -> tuple[str, ...] | None:
    """The exec form: a JSON array of strings. Anything else (even broken JSON) is the shell form."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _read_heredocs(args: str, lines: list[str], i: int, file: str, line: int,
                   original: str) -> tuple[list[Heredoc], int, str]:
    """Bodies of every heredoc opened on the instruction, in order, from the lines after it."""
    docs: list[Heredoc] = []
    raw: list[str] = []
    for m in _HEREDOC.finditer(args):
        strip_tabs, quote, name = m.group(1) == "-", m.group(2), m.group(3)
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise DockerfileError(f"unterminated heredoc: no line {name!r} ends it", file=file, line=line,
                                      instruction=original, hint=f"end the heredoc with a line holding only {name}")
            text = lines[i]
            i += 1
            raw.append(text)
            candidate = text.lstrip("\t") if strip_tabs else text
            if candidate == name:
                break
            body.append(candidate + "\n")
        docs.append(Heredoc(name=name, content="".join(body), expand=not quote, strip_tabs=strip_tabs))
    return docs, i, "\n".join(raw)


def _stages(instructions: list[Instruction], escape: str, file: str, warnings: list[str]) -> Dockerfile:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for inst in instructions:
        if inst.keyword == "FROM":
            stages.append(_stage_from(inst, len(stages), stages, file))
        elif not stages:
            if inst.keyword != "ARG":
                raise DockerfileError(f"{inst.keyword} before the first FROM: only ARG may come before FROM",
                                      file=file, line=inst.line, instruction=inst.original,
                                      hint="start the Dockerfile with FROM (ARGs before it are allowed)")
            global_args.append(inst)
        else:
            stages[-1].instructions.append(inst)
    if not stages:
        raise DockerfileError("the Dockerfile has no FROM instruction", file=file,
                              hint="a Dockerfile starts with FROM <image> (or FROM scratch)")
    return Dockerfile(file=file, escape=escape, global_args=global_args, stages=stages, warnings=warnings)


def _stage_from(inst: Instruction, index: int, stages: list[Stage], file: str) -> Stage:
    for name, _ in inst.flags:
        if name != "platform":
            raise DockerfileError(f"unknown flag for FROM: --{name}", file=file, line=inst.line,
                                  instruction=inst.original, hint="FROM takes only --platform")
    words = inst.args.split()
    if len(words) == 1:
        stage_name = None
    elif len(words) == 3 and words[1].lower() == "as":
        stage_name = words[2].lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]*", stage_name):
            raise DockerfileError(f"invalid stage name {words[2]!r}", file=file, line=inst.line,
                                  instruction=inst.original,
                                  hint="a stage name starts with a letter and holds letters, digits, '.', '_', '-'")
        if any(s.name == stage_name for s in stages):
            raise DockerfileError(f"duplicate stage name {words[2]!r}", file=file, line=inst.line,
                                  instruction=inst.original, hint="give each stage its own name")
    else:
        raise DockerfileError("FROM requires either one argument, or three: FROM <image> [AS <name>]",
                              file=file, line=inst.line, instruction=inst.original)
    return Stage(index=index, base=words[0], name=stage_name, platform=inst.flag("platform"), line=inst.line,
                 from_instruction=inst)


def parse_words(text: str, escape: str = "\\") -> list[str]:
    """Split at whitespace outside quotes, keeping quotes and escapes in the words (Docker's parseWords).

    Used for ENV/LABEL ``k=v`` lists, where the later expansion removes quotes and escapes.
    """
    words: list[str] = []
    word: list[str] = []
    quote = ""
    have_word = False
    i = 0
    while i < len(text):
        ch = text[i]
        if not quote and ch.isspace():
            if word or have_word:
                words.append("".join(word))
            word, have_word = [], False
            i += 1
            continue
        if ch == escape and quote != "'":
            if i + 1 < len(text):
                word.append(ch + text[i + 1])
                i += 2
                continue
            i += 1
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            have_word = True
        word.append(ch)
        i += 1
    if word or have_word:
        words.append("".join(word))
    return words
