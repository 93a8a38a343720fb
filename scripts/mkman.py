#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""mkman.py POSTERN OUTDIR - the man pages, from what is already written:
postern.conf(5) from README.md's configuration reference (one row per key)
checked against the keys `postern config -d` prints (the key table), so a
key without documentation fails; postern(8) and postern-keygen(8) from
man/*.in with the version of lib/version.h.  Exit 1 naming each key with
no row, or each row that names no key."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def version():
    with open(os.path.join(TOP, "lib", "version.h")) as f:
        return re.search(r'#define POSTERN_VERSION\s+"([^"]+)"',
                         f.read()).group(1)


def keys(postern):
    """[(section, key, default)] in the key table's order."""
    out = subprocess.run([postern, "config", "-d"], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    sect, got = None, []
    for line in out.splitlines():
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            sect = m.group(1)
            continue
        m = re.fullmatch(r"(\w+) =\s?(.*)", line)
        if m and sect:
            got.append((sect, m.group(1), m.group(2)))
    return got


def rows(readme):
    """{(section, key): (default, meaning)} from the reference tables, and
    each section's introduction (its text before the table)."""
    text = readme[readme.index("## Configuration reference"):]
    text = text[:text.index("\n## ", 10)]
    docs, intro, sect, ncols = {}, {}, None, 3
    for line in text.splitlines():
        m = re.fullmatch(r"### `\[(\w+)\]`", line)
        if m:
            sect = m.group(1)
            intro[sect] = []
            continue
        if line.startswith("| key |"):     # 3 columns, or 2 (no default)
            ncols = 3 if "| default |" in line else 2
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] \
            if line.startswith("| `") else None
        if sect and cells and len(cells) >= ncols:
            default = cells[1] if ncols == 3 else None
            for k in re.findall(r"`(\w+)`", cells[0]):
                docs[(sect, k)] = (default, "|".join(cells[ncols - 1:]))
        elif sect and not line.startswith("|"):
            intro[sect].append(line)
    return docs, {s: "\n".join(v).strip() for s, v in intro.items()}


def roff(md):
    """Markdown inline text as roff: code bold, links as their text."""
    s = md.replace("\\", "\\e")
    s = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", s)
    # code bold; a long one may break after ':' (\: is a break point)
    s = re.sub(r"`([^`]+)`", lambda m: "\\fB" + m.group(1).replace(
        "-", "\\-").replace(":", ":\\:") + "\\fR", s)
    s = s.replace("**", "")
    lines = [("\\&" + l if l[:1] in ".'" else l) for l in s.split("\n")]
    return "\n".join(lines)


def conf5(ver, table, docs, intro):
    out = [".TH POSTERN.CONF 5 \"\" \"postern %s\" \"File Formats\"" % ver,
           # left-adjusted: long values (cipher lists) do not stretch lines
           ".ad l",
           ".SH NAME", "postern.conf \\- postern configuration file",
           ".SH DESCRIPTION",
           "The file is INI-style: \\fB[section]\\fR, \\fBkey = value\\fR, "
           "\\fB#\\fR comments.",
           "Durations take \\fBs\\fR, \\fBm\\fR, \\fBh\\fR (bare numbers "
           "are seconds); sizes take \\fBk\\fR, \\fBM\\fR, \\fBG\\fR "
           "(1024-based).",
           "A file only needs the keys it changes; "
           "\\fBpostern config \\-d\\fR prints the defaults, "
           "\\fBpostern config \\-n\\fR what a file changes."]
    sect = None
    for s, k, default in table:
        if s != sect:
            sect = s
            out += [".SH \"[%s]\"" % s]
            if intro.get(s):
                out += [roff(p) + "\n.PP" for p in intro[s].split("\n\n")
                        if p.strip()]
        d, meaning = docs[(s, k)]
        if d is None:       # the table has no column for it
            d = "`%s`" % default if default else "empty"
        if len(d) <= 40:
            out += [".TP", "\\fB%s\\fR (default: %s)" % (k, roff(d)),
                    roff(meaning)]
        else:               # a tag line does not break: in the text then
            out += [".TP", "\\fB%s\\fR" % k, "Default: %s." % roff(d),
                    ".br", roff(meaning)]
    out += [".SH FILES", "/etc/postern/postern.conf",
            ".SH SEE ALSO", "postern(8), postern\\-keygen(8)"]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mkman.py POSTERN OUTDIR")
    postern, outdir = sys.argv[1], sys.argv[2]
    readme = os.environ.get("MKMAN_README", os.path.join(TOP, "README.md"))
    with open(readme) as f:
        docs, intro = rows(f.read())
    table = keys(postern)
    bad = ["%s.%s: no row in %s's configuration reference" % (s, k, readme)
           for s, k, _ in table if (s, k) not in docs]
    known = {(s, k) for s, k, _ in table}
    bad += ["%s.%s: documented in %s but no such key" % (s, k, readme)
            for s, k in docs if (s, k) not in known]
    if bad:
        sys.exit("mkman.py: " + "\nmkman.py: ".join(bad))
    ver = version()
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "postern.conf.5"), "w") as f:
        f.write(conf5(ver, table, docs, intro))
    for name in ("postern.8", "postern-keygen.8"):
        with open(os.path.join(TOP, "man", name + ".in")) as f:
            text = f.read().replace("@VERSION@", ver)
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
