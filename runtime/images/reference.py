"""Image references parsed and normalised as Docker does it.

``busybox`` -> ``docker.io/library/busybox:latest``; ``localhost:5000/x:tag`` keeps its registry;
``name@sha256:<hex>`` pins a digest. ``familiar()`` gives back the short form Docker prints
(``busybox:latest``, ``me/app:1``). The registry client reuses this module, so it has no store logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.errors import InvalidSpec

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_MAX = 255

# One path component: lowercase alphanumerics joined by '.', '_', '__' or runs of '-'.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_COMPONENT_RE = re.compile(rf"^{_COMPONENT}$")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"^(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_HEX64_RE = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A normalised reference. ``tag`` is None only when a digest pins the image and no tag was given."""

    domain: str
    path: str  # "library/busybox", "me/app"
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """Fully qualified name without tag or digest: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def familiar_name(self) -> str:
        """The repository as Docker shows it: ``busybox``, ``me/app``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.repository
        if self.path.startswith(OFFICIAL_REPO_PREFIX) and self.path.count("/") == 1:
            return self.path[len(OFFICIAL_REPO_PREFIX):]
        return self.path

    def familiar(self) -> str:
        """The whole reference in Docker's short form: ``busybox:latest``, ``x@sha256:...``."""
        text = self.familiar_name()
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)


def _invalid(ref: str, why: str) -> InvalidSpec:
    return InvalidSpec(f"invalid reference format: {ref!r}: {why}",
                       hint="use NAME[:TAG][@DIGEST], e.g. busybox:latest or localhost:5000/app:1")


def parse(ref: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalise ``ref``; adds ``:latest`` when neither tag nor digest is given (Docker's rule)."""
    if not ref:
        raise _invalid(ref, "empty reference")
    if _HEX64_RE.match(ref):
        raise _invalid(ref, "a repository name cannot be a 64-character hexadecimal string (an image id?)")
    remainder, digest = ref, None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise _invalid(ref, f"bad digest {digest!r}")
        if digest.startswith("sha256:") and not _SHA256_RE.match(digest):
            raise _invalid(ref, "a sha256 digest has 64 lowercase hexadecimal digits")
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1:]
        if not _TAG_RE.match(tag):
            raise _invalid(ref, f"bad tag {tag!r}")
    if not remainder:
        raise _invalid(ref, "missing repository name")
    domain, path = split_domain(remainder)
    if not _DOMAIN_RE.match(domain):
        raise _invalid(ref, f"bad registry host {domain!r}")
    if path != path.lower():
        raise _invalid(ref, "repository name must be lowercase")
    for component in path.split("/"):
        if not _COMPONENT_RE.match(component):
            raise _invalid(ref, f"bad path component {component!r}")
    if len(f"{domain}/{path}") > NAME_TOTAL_MAX:
        raise _invalid(ref, f"repository name longer than {NAME_TOTAL_MAX} characters")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def split_domain(name: str) -> tuple[str, str]:
    """Docker's rule: the first component is a registry host only if it has '.' or ':', is 'localhost',
    or has an uppercase letter; otherwise the name lives on Docker Hub (official images under library/)."""
    first, sep, rest = name.partition("/")
    if sep and (("." in first or ":" in first) or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path


def normalize(ref: str) -> str:
    """The fully qualified string form of ``ref``."""
    return str(parse(ref))


def familiar(ref: str) -> str:
    """Docker's short display form of a (possibly already normalised) reference string."""
    return parse(ref).familiar()


def is_image_id(text: str) -> bool:
    """A full image id, with or without ``sha256:``."""
    return bool(_SHA256_RE.match(text) or _HEX64_RE.match(text))


def looks_like_id_prefix(text: str) -> bool:
    """Could ``text`` be a (short) image id? Docker accepts any unique hex prefix."""
    body = text[7:] if text.startswith("sha256:") else text
    return 0 < len(body) <= 64 and all(c in "0123456789abcdef" for c in body)
