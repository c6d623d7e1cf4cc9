#!/usr/bin/env python3
"""Checks that every relative link in the repository's Markdown files resolves.

For each tracked *.md file (git ls-files), every inline link or image `[text](target)` whose target is
not a URL must name an existing file or folder, relative to the Markdown file; a `#anchor` on a
Markdown target (or alone) must match one of its headings, slugged as GitHub does (lower case,
punctuation but `-` and `_` dropped, spaces to `-`, duplicates numbered). Links inside code blocks and
code spans are ignored.

Usage: scripts/check-links.py [FILE.md ...]   (default: every tracked *.md). Exit 1 if any link is broken.
"""
import os
import re
import subprocess
import sys

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+(?:\([^()\s]*\))?)(?:\s+\"[^\"]*\")?\)")


def strip_code(text):
  """The text with fenced code blocks and inline code spans blanked (line numbers kept)."""
  out, fenced = [], False
  for line in text.split("\n"):
    if line.lstrip().startswith("```"):
      fenced = not fenced
      out.append("")
      continue
    out.append("" if fenced else re.sub(r"`[^`]*`", "", line))
  return "\n".join(out)


def slugs(path):
  """GitHub's anchors for the headings of a Markdown file."""
  seen, result = {}, set()
  for line in strip_code_headings(open(path, encoding="utf-8").read()):
    s = line.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s, flags=re.UNICODE).replace(" ", "-")
    n = seen.get(s, 0)
    seen[s] = n + 1
    result.add(s if n == 0 else f"{s}-{n}")
  return result


def strip_code_headings(text):
  """The heading texts (without the #s) outside fenced code blocks."""
  fenced = False
  for line in text.split("\n"):
    if line.lstrip().startswith("```"):
      fenced = not fenced
      continue
    m = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
    if m:
      yield m.group(1)


def check(md):
  broken = []
  text = strip_code(open(md, encoding="utf-8").read())
  base = os.path.dirname(md)
  for number, line in enumerate(text.split("\n"), 1):
    for m in LINK.finditer(line):
      target = m.group(1)
      if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
        continue
      path, _, anchor = target.partition("#")
      resolved = os.path.normpath(os.path.join(base, path)) if path else md
      if not os.path.exists(resolved):
        broken.append(f"{md}:{number}: {target}: no such file")
      elif anchor and resolved.endswith(".md") and anchor not in slugs(resolved):
        broken.append(f"{md}:{number}: {target}: no heading with that anchor")
  return broken


def main():
  root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True)
  os.chdir(root.stdout.strip())
  files = sys.argv[1:] or subprocess.run(
    ["git", "ls-files", "*.md"], capture_output=True, text=True, check=True).stdout.split()
  broken = [b for f in files for b in check(f)]
  for b in broken:
    print(b)
  print(f"check-links: {len(files)} files, {len(broken)} broken links", file=sys.stderr)
  return 1 if broken else 0


if __name__ == "__main__":
  sys.exit(main())
