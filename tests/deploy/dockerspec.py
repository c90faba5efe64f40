"""A small reader of the project's Dockerfile and .dockerignore, for the deployment tests.

It understands what the Dockerfile uses: stages (``FROM image AS name``), line continuations,
comments, ``KEY=value`` ENV/ARG pairs, JSON (exec) and shell forms of RUN/CMD/ENTRYPOINT, the
HEALTHCHECK's options and command, COPY with ``--from``/``--chown``. Anything else is kept as
text. The tests run the steps they take from here, so a step changed in the Dockerfile is the
step the tests run; there is no second copy of any command.

``.dockerignore`` matching follows Docker's rules as far as this project's file needs them:
patterns are relative to the context root, ``**/`` matches any depth (including none), a
pattern also excludes everything below a matched directory, the last matching line wins and
``!`` re-includes.
"""

from __future__ import annotations

import fnmatch
import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: RUN, COPY, ...
    args: str  # the rest of the logical line, continuations joined
    line: int  # 1-based line of the instruction's first physical line

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form RUN/CMD/ENTRYPOINT, else None (shell form)."""
        if not self.args.startswith("["):
            return None
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value

    def copy_parts(self) -> tuple[dict[str, str], list[str], str]:
        """A COPY's ``--flag=value`` options, its sources and its destination."""
        words = shlex.split(self.args)
        flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
        paths = [w for w in words if not w.startswith("--")]
        return flags, paths[:-1], paths[-1]

    def pairs(self) -> dict[str, str]:
        """``KEY=value`` pairs of ENV, ARG or LABEL (an ARG without default maps to '')."""
        out: dict[str, str] = {}
        for token in shlex.split(self.args):
            key, _, value = token.partition("=")
            out[key] = value
        return out


@dataclass(frozen=True)
class Healthcheck:
    options: dict[str, str]
    command: list[str]  # exec form


@dataclass(frozen=True)
class Stage:
    name: str
    base: str
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in self.all("ENV"):
            out.update(i.pairs())
        return out

    def args(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in self.all("ARG"):
            out.update(i.pairs())
        return out

    def run_with(self, needle: str) -> str:
        """The one RUN command (shell form) containing ``needle``."""
        found = [i.args for i in self.all("RUN") if needle in i.args]
        assert len(found) == 1, f"stage {self.name}: {len(found)} RUN steps contain {needle!r}"
        return found[0]

    def healthcheck(self) -> Healthcheck | None:
        i = self.last("HEALTHCHECK")
        if i is None or i.args.strip() == "NONE":
            return None
        options: dict[str, str] = {}
        rest = i.args
        while rest.startswith("--"):
            option, _, rest = rest.partition(" ")
            key, _, value = option[2:].partition("=")
            options[key] = value
            rest = rest.lstrip()
        keyword, _, command = rest.partition(" ")
        assert keyword == "CMD", f"line {i.line}: HEALTHCHECK without CMD"
        parsed = Instruction("CMD", command.strip(), i.line).exec_form()
        assert parsed is not None, f"line {i.line}: the HEALTHCHECK command is not exec form"
        return Healthcheck(options, parsed)


@dataclass(frozen=True)
class Dockerfile:
    global_args: dict[str, str]
    stages: tuple[Stage, ...]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage {name!r}; stages: {[s.name for s in self.stages]}")

    def effective(self, name: str, keyword: str) -> Instruction | None:
        """The last ``keyword`` in stage ``name`` or, through ``FROM <stage>``, its parents."""
        stage = self.stage(name)
        found = stage.last(keyword)
        if found is not None:
            return found
        parents = [s.name for s in self.stages]
        return self.effective(stage.base, keyword) if stage.base in parents else None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue  # comments (incl. parser directives) and blank lines between instructions
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        lines.append((start, " ".join(p for p in buffer if p)))
        buffer = []
    assert not buffer, "the Dockerfile ends inside a line continuation"
    return lines


def parse_dockerfile(path: Path) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    name = base = ""
    for line, logical in _logical_lines(path.read_text()):
        keyword, _, args = logical.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), line)
        if instruction.keyword == "FROM":
            if current is not None:
                stages.append(Stage(name, base, tuple(current)))
            words = [w for w in args.split() if not w.startswith("--")]
            base = words[0]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            current = []
        elif current is None:
            assert instruction.keyword == "ARG", f"line {line}: {keyword} before the first FROM"
            global_args.update(instruction.pairs())
        else:
            current.append(instruction)
    if current is not None:
        stages.append(Stage(name, base, tuple(current)))
    return Dockerfile(global_args, tuple(stages))


@dataclass(frozen=True)
class DockerIgnore:
    patterns: tuple[tuple[bool, str], ...]  # (is_exception, pattern)

    @classmethod
    def read(cls, path: Path) -> DockerIgnore:
        rules: list[tuple[bool, str]] = []
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            rules.append((negate, line.lstrip("!").strip("/")))
        return cls(tuple(rules))

    @staticmethod
    def _matches(pattern: str, rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        candidates = [pattern]
        if pattern.startswith("**/"):
            candidates.append(pattern[3:])
        # fnmatch's * crosses '/', which a pattern like `**/x` relies on; a plain `*` pattern
        # at the top level must not: compare segment counts for patterns without '**'.
        for p in candidates:
            for prefix in prefixes:
                if "**" not in p and p.count("/") != prefix.count("/"):
                    continue
                if fnmatch.fnmatchcase(prefix, p):
                    return True
        return False

    def excluded(self, rel: str) -> bool:
        verdict = False
        for negate, pattern in self.patterns:
            if self._matches(pattern, rel):
                verdict = not negate
        return verdict


def copy_context(sources: list[str], root: Path, dest: Path, ignore: DockerIgnore) -> list[str]:
    """Copy what a ``COPY sources... dest`` takes from the build context ``root``, honouring
    .dockerignore; return the copied files' context-relative paths."""
    copied: list[str] = []
    for source in sources:
        src = root / source
        assert src.exists(), f"COPY {source}: not in the build context"
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for f in files:
            rel = f.relative_to(root).as_posix()
            if ignore.excluded(rel):
                continue
            target = dest / (f.name if src.is_file() else f.relative_to(src))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
            copied.append(rel)
    return copied
