#!/usr/bin/env python3
"""linkcheck.py - the documentation's links and named paths point at what is in the repository.

Run from anywhere: `python3 tests/tools/linkcheck.py` (`make docs-check`, part of `make check`).
It fails (exit 1, one line per problem as FILE:LINE: what) when

  1. README.md, docs/*.md or deploy/kubernetes/README.md has a relative Markdown link
     ([text](target) or ![alt](target), outside code) to a file or folder that does not
     exist, or to an anchor (#heading) that no heading of the target page makes;
  2. README.md, docs/*.md (but docs/benchmarks.md, below) or a comment of a *.c, *.h, *.sh,
     *.js, *.mjs file or a Makefile names a repository path that does not exist: a token
     that starts with common/, ingest/, processor/, reporting/, tests/, deploy/, docs/ or
     .ci/, not preceded by a letter, digit or one of / . _ - $ (so build/tests/x and
     $BUILD/tests/x are not repository paths), and not followed by one of * ? [ { < $ %
     (so tests/it_*.sh and tests/test_<module>.c are patterns, not paths); a program
     built from NAME.c may be named NAME (tests/tools/loadgen);
  3. any of those files, or any other tracked *.md, mentions ../shared/: the repository
     never points outside itself.

docs/benchmarks.md is written by `make bench` and records the paths of the commit it names,
so rule 2 leaves it out. The rules are described in docs/development.md.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIXES = ("common/", "ingest/", "processor/", "reporting/", "tests/", "deploy/", "docs/", ".ci/")
PATH_RE = re.compile(
    r"(?<![A-Za-z0-9/._$-])((?:" + "|".join(re.escape(p) for p in PREFIXES) + r")[A-Za-z0-9/._+-]*)"
)
PATTERN_NEXT = set("*?[{<$%")
LINK_RE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SHARED = "../shared/"
CODE_EXT = (".c", ".h", ".sh", ".js", ".mjs")
GENERATED = {"docs/benchmarks.md"}

problems = []


def report(path, line, msg):
    problems.append(f"{path}:{line}: {msg}")


def repo_files():
    try:
        out = subprocess.run(
            ["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [f for f in out.splitlines() if os.path.exists(os.path.join(ROOT, f))]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(ROOT):
            skip = (".git", ".deps", "run")
            dirs[:] = [x for x in dirs if x not in skip and not x.startswith("build")]
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
        return files


def slug(heading):
    """The anchor GitHub makes of a heading: lower case, punctuation dropped, blanks to '-'."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


anchor_cache = {}


def anchors(path):
    if path not in anchor_cache:
        seen = {}
        result = set()
        in_fence = False
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            for line in f:
                if line.startswith("```"):
                    in_fence = not in_fence
                m = None if in_fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    s = slug(m.group(1))
                    n = seen.get(s, 0)
                    seen[s] = n + 1
                    result.add(s if n == 0 else f"{s}-{n}")
        anchor_cache[path] = result
    return anchor_cache[path]


def check_paths(path, lineno, text):
    for m in PATH_RE.finditer(text):
        token = m.group(1)
        end = m.end(1)
        if end < len(text) and text[end] in PATTERN_NEXT:
            continue
        token = token.rstrip(".")
        full = os.path.join(ROOT, token)
        if not os.path.exists(full) and not os.path.exists(full + ".c"):
            report(path, lineno, f"names {token}, which does not exist")


def check_markdown(path, named_paths):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    # Links are read outside code (fenced blocks and `code spans` show links, not make them),
    # over the whole text, since a link's text may run onto the next line. Code is blanked
    # out character for character, so that offsets still give line numbers.
    prose = []
    in_fence = False
    for line in lines:
        fence = line.startswith("```")
        if fence:
            in_fence = not in_fence
        if in_fence or fence:
            prose.append(" " * len(line))
        else:
            prose.append(re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line))
    prose = "\n".join(prose)
    for m in LINK_RE.finditer(prose):
        lineno = prose.count("\n", 0, m.start(1)) + 1
        target = m.group(1).strip("<>")
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        if file_part:
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
            if dest.startswith(".."):
                report(path, lineno, f"links to {target}, outside the repository")
                continue
            if not os.path.exists(os.path.join(ROOT, dest)):
                report(path, lineno, f"links to {target}, which does not exist")
                continue
        else:
            dest = path
        if anchor and dest.endswith(".md") and anchor not in anchors(dest):
            report(path, lineno, f"links to {target}: {dest} has no heading #{anchor}")
    for lineno, line in enumerate(lines, 1):
        if SHARED in line:
            report(path, lineno, f"mentions {SHARED}, outside the repository")
        if named_paths:
            check_paths(path, lineno, line)


def comments_c(src):
    """(line, text) of each comment of C or JavaScript source: // and /* */, outside strings."""
    out = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in "\"'`":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\\":
                    j += 1
                elif src[j] == "\n" and c != "`":
                    break
                j += 1
            line += src.count("\n", i, j)
            i = j + 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append((line, src[i:j]))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k, text in enumerate(src[i:j].split("\n")):
                out.append((line + k, text))
            line += src.count("\n", i, j)
            i = j
        else:
            i += 1
    return out


def comments_sh(src):
    """(line, text) of each shell or make comment: from a # at a line's start or after a blank,
    outside quotes."""
    out = []
    for lineno, text in enumerate(src.split("\n"), 1):
        quote = None
        for i, c in enumerate(text):
            if quote:
                if c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "#" and (i == 0 or text[i - 1] in " \t"):
                out.append((lineno, text[i:]))
                break
    return out


def check_code(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        src = f.read()
    for lineno, line in enumerate(src.split("\n"), 1):
        if SHARED in line:
            report(path, lineno, f"mentions {SHARED}, outside the repository")
    shell = path.endswith(".sh") or os.path.basename(path) == "Makefile"
    for lineno, text in (comments_sh if shell else comments_c)(src):
        check_paths(path, lineno, text)


def main():
    os.chdir(ROOT)
    files = repo_files()
    for path in files:
        name = os.path.basename(path)
        if path == "README.md" or path == "deploy/kubernetes/README.md" or (
            path.startswith("docs/") and path.endswith(".md")
        ):
            check_markdown(path, path != "deploy/kubernetes/README.md" and path not in GENERATED)
        elif path.endswith(CODE_EXT) or name == "Makefile":
            check_code(path)
        elif path.endswith(".md") and SHARED in open(path, encoding="utf-8").read():
            for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
                if SHARED in line:
                    report(path, lineno, f"mentions {SHARED}, outside the repository")
    for p in problems:
        print(p)
    if problems:
        print(f"linkcheck: {len(problems)} broken link(s) or path(s)")
        return 1
    print(f"linkcheck: {len(files)} files, every link and named path exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
