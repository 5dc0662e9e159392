"""Build two BEIR-format retrieval corpora from freely licensed text already on this machine, so the
retrieval stack can be evaluated on corpora it was never tuned on (SciFact and friends were).

    python -m bench.corpora manpages --out DIR [--sections 1] [--max-docs 2000] [--max-per-package 500] [--seed 7]
    python -m bench.corpora pydocs --deb python3.11-doc_*.deb --out DIR

manpages: one document per man page of the given sections (default 1; rendered with man(1)); its
query is the page's NAME line description ("list directory contents" for ls.1), removed from the
indexed text.
pydocs: one document per top-level section of each library-reference page of the Python docs; for
module pages ("os.path — Common pathname manipulations") the description is a query whose one
relevant document is the module's intro section, with the h1 removed from both text and title.

Each output directory gets corpus.jsonl, queries.jsonl, qrels/{train,test}.tsv (queries split
50/50 by the parity of sha1(query id)) and a README.md with the source, licence and counts.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

MAN = Path("/usr/share/man")
MAX_TEXT_CHARS = 20_000
SLACK = 1.5  # candidates rendered per wanted page: short, NAME-less and duplicate pages are skipped


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def norm(s: str) -> str:
    return " ".join(s.split()).lower()


def split_of(qid: str) -> str:
    return "train" if hashlib.sha1(qid.encode()).digest()[-1] % 2 == 0 else "test"


def verbatim_counts(docs: list[dict], queries: dict[str, str], qrels: dict[str, str]) -> tuple[int, int, Counter[str]]:
    """How many queries still occur verbatim (case-insensitively) in their own document, and in some
    other document (the first makes a query easy, the second makes an unjudged document look
    relevant), and which other documents hold the most queries."""
    texts = {d["_id"]: norm(d["title"] + " " + d["text"]) for d in docs}
    own = other = 0
    hubs: Counter[str] = Counter()
    for qid, q in queries.items():
        q = norm(q)
        own += q in texts[qrels[qid]]
        found = [i for i, t in texts.items() if i != qrels[qid] and q in t]
        other += bool(found)
        hubs.update(found)
    return own, other, hubs


def write_beir(out: Path, docs: list[dict], queries: dict[str, str], qrels: dict[str, str], readme: str) -> dict[str, int]:
    """qrels maps each query to its one relevant document. Returns the number of queries per split."""
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"_id": d["_id"], "title": d["title"], "text": d["text"]}, ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid, text in queries.items():
            fh.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    counts = Counter(split_of(q) for q in queries)
    for split in ("train", "test"):
        with open(out / "qrels" / f"{split}.tsv", "w", encoding="utf-8") as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            fh.writelines(f"{q}\t{qrels[q]}\t1\n" for q in queries if split_of(q) == split)
    own, other, hubs = verbatim_counts(docs, queries, qrels)
    stats = (
        f"| documents | {len(docs)} |\n| queries | {len(queries)} |\n"
        f"| queries in qrels/train.tsv | {counts['train']} |\n| queries in qrels/test.tsv | {counts['test']} |\n"
        f"| queries still verbatim in their relevant doc (title or text) | {own} |\n"
        f"| queries verbatim in some other doc | {other} |\n"
        f"| docs holding most other queries verbatim | {', '.join(f'{i} {c}' for i, c in hubs.most_common(5))} |\n"
    )
    (out / "README.md").write_text(readme.replace("{stats}", stats), encoding="utf-8")
    log(
        f"wrote {out}: {len(docs)} docs, {len(queries)} queries (train {counts['train']}, test {counts['test']}); verbatim: own {own}, other {other}"
    )
    return dict(counts)


# --- man pages -------------------------------------------------------------------------------------


def man_packages(dirs: list[Path]) -> dict[str, str]:
    """Which Debian package ships each man page in dirs: the licence is that package's."""
    prefixes = tuple(f"{d}/" for d in dirs)
    owner = {}
    for lst in Path("/var/lib/dpkg/info").glob("*.list"):
        pkg = lst.stem.split(":")[0]
        for line in lst.read_text(errors="replace").splitlines():
            if line.startswith(prefixes):
                owner[line] = pkg
    return owner


def is_redirect(path: Path) -> bool:
    """A `.so other.1` page is an alias of another page."""
    with gzip.open(path, "rt", errors="replace") as fh:
        lines = [line for line in fh.read(4096).splitlines() if line.strip() and not line.startswith(('.\\"', "'\\\""))]
    return len(lines) <= 2 and any(line.startswith(".so ") for line in lines)


def render(path: Path) -> str | None:
    # --nh/--nj: no hyphenation or justification, so words are not split across lines.
    env = {**os.environ, "MANWIDTH": "100", "LC_ALL": "C.UTF-8", "MAN_KEEP_FORMATTING": ""}
    try:
        r = subprocess.run(["man", "-l", "--nh", "--nj", "-P", "cat", str(path)], capture_output=True, text=True, env=env, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    return re.sub(r".\x08", "", r.stdout) if r.returncode == 0 else None


def split_name(rendered: str) -> tuple[str | None, str]:
    """The NAME section's text, and the page without it, the running header and footer."""
    lines = rendered.splitlines()
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if nonblank and re.search(r"\(\w+\)\s*$", lines[nonblank[-1]]):  # footer: "GNU coreutils 9.1 ... LS(1)"
        del lines[nonblank[-1]]
    if nonblank and re.search(r"\(\w+\)\s*$", lines[nonblank[0]]):  # header: "LS(1)  User Commands  LS(1)"
        del lines[nonblank[0]]
    name = None
    for i, line in enumerate(lines):
        if line.strip() == "NAME" and not line[0].isspace():
            j = next((k for k in range(i + 1, len(lines)) if lines[k] and not lines[k][0].isspace()), len(lines))
            name = " ".join(" ".join(lines[i + 1 : j]).split())
            lines = lines[:i] + lines[j:]
            break
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in lines)).strip()
    return name, text


def man_sections(spec: str) -> list[str]:
    """ "5,7,8" -> ["5", "7", "8"]: each must have a directory under /usr/share/man."""
    sections = list(dict.fromkeys(s.strip() for s in spec.split(",") if s.strip()))
    if not sections:
        raise argparse.ArgumentTypeError("no section given")
    missing = [s for s in sections if not (MAN / f"man{s}").is_dir()]
    if missing:
        raise argparse.ArgumentTypeError(f"no {', '.join(str(MAN / f'man{s}') for s in missing)}")
    return sections


def build_manpages(args: argparse.Namespace) -> None:
    dirs = [MAN / f"man{s}" for s in args.sections]
    globs = [f"{d}/*.{s}*.gz" for d, s in zip(dirs, args.sections)]  # *.5*: also crontab.5, config.5ssl
    owner = man_packages(dirs)
    # Section 1 keeps its plain pages only (*.1.gz), as the man1 corpus was first built.
    files = sorted(f for d, s in zip(dirs, args.sections) for f in d.glob(f"*.{s}.gz" if s == "1" else f"*.{s}*.gz"))
    random.Random(args.seed).shuffle(files)
    cap = args.max_per_package or args.max_docs
    skipped: Counter[str] = Counter()
    per_pkg: Counter[str] = Counter()
    candidates = []
    for f in files:
        if len(candidates) >= math.ceil(args.max_docs * SLACK):
            break
        pkg = owner.get(str(f))
        if f.is_symlink():
            skipped["symlink (alias)"] += 1
        elif pkg is None:
            skipped["not from a Debian package (licence unknown)"] += 1
        elif per_pkg[pkg] >= math.ceil(cap * SLACK):
            continue
        elif is_redirect(f):
            skipped[".so redirect (alias)"] += 1
        else:
            per_pkg[pkg] += 1
            candidates.append(f)
    log(f"{len(files)} pages in {' '.join(globs)}; rendering {len(candidates)} sampled candidates")

    t0 = time.time()
    docs, names, kept = [], {}, Counter()
    seen_text = set()
    with ThreadPoolExecutor(2) as pool:  # each render is a man|groff subprocess: two keep both cores busy
        for n, (f, rendered) in enumerate(zip(candidates, pool.map(render, candidates)), 1):
            if n % 250 == 0:
                log(f"  rendered {n}/{len(candidates)} in {time.time() - t0:.0f}s, kept {len(docs)}")
            pkg = owner[str(f)]
            if len(docs) >= args.max_docs or kept[pkg] >= cap:
                continue
            if rendered is None:
                skipped["man failed or timed out"] += 1
                continue
            name, text = split_name(rendered)
            digest = hashlib.sha1(text.encode()).digest()
            if len(text) < 400:
                skipped["under 400 characters"] += 1
            elif digest in seen_text:
                skipped["same text as another sampled page (alias)"] += 1
            else:
                seen_text.add(digest)
                kept[pkg] += 1
                doc_id = f.name.removesuffix(".gz")
                parts = re.split(r"\s[-\u2010\u2212\u2013\u2014]+\s+", name, maxsplit=1) if name else []
                command, desc = parts if len(parts) == 2 else (doc_id.rsplit(".", 1)[0], "")
                docs.append({"_id": doc_id, "title": command.strip(), "text": text[:MAX_TEXT_CHARS]})
                names[doc_id] = desc.strip().rstrip(".")
    log(f"rendered {len(candidates)} pages in {time.time() - t0:.0f}s; kept {len(docs)}")

    shared = Counter(norm(d) for d in names.values())
    queries, qrels = {}, {}
    dropped: Counter[str] = Counter()
    for doc_id, desc in names.items():
        if not desc:
            dropped["no NAME description"] += 1
        elif len(desc.split()) < 3:
            dropped["description under 3 words"] += 1
        elif shared[norm(desc)] > 1:
            dropped["description shared by several sampled pages"] += 1
        else:
            queries[f"q-{doc_id}"] = " ".join(desc.split())
            qrels[f"q-{doc_id}"] = doc_id

    pkgs = ", ".join(f"{p} {c}" for p, c in kept.most_common())
    reasons = "\n".join(f"- {why}: {c}" for why, c in (skipped + dropped).most_common())
    sections = ",".join(args.sections)
    gcloud = (
        ": google-cloud-cli ships about 16,600 of the 17,700 section-1 pages here,\n"
        "generated from one template, and would otherwise make up most of the corpus"
        if "1" in args.sections
        else ""
    )
    readme = f"""# {Path(args.out).name}: section {sections} man pages as a retrieval corpus

Built by `python -m bench.corpora manpages --sections {sections} --max-docs {args.max_docs} --max-per-package {args.max_per_package} --seed {args.seed}`
from {", ".join(f"`{g}`" for g in globs)} ({len(files)} files) on a Debian 12 machine, rendered to
plain text with `MANWIDTH=100 man -l --nh --nj -P cat PAGE` (the running header and footer dropped).

**Licence**: each man page under its own package's free licence (see /usr/share/doc/<package>/copyright).
Pages not shipped by a Debian package were skipped, since their licence is unknown.

**Documents**: one per page; `_id` is the page name (`ls.1`, `crontab.5`), `title` the name(s) from the
NAME line, `text` the rendered page without its NAME section, capped at {MAX_TEXT_CHARS} characters.
Pages were sampled at random (seed {args.seed}) before rendering; symlinks and `.so` redirects
(aliases), pages with the same text as another, and pages under 400 characters were skipped. No
package gives more than {cap} pages{gcloud}.
Pages by package: {pkgs}.

**Queries**: the NAME line's description (`ls - list directory contents` gives "list directory
contents"), whose one relevant document is its page. The NAME section is removed from the indexed
text so the query is not there verbatim (the DESCRIPTION section often paraphrases it, sometimes
repeats it). Descriptions under 3 words and descriptions shared by several sampled pages
(compared lowercased) give no query; their pages stay in the corpus as distractors. Queries are
split into train and test by the parity of the last byte of sha1(query id).

Skipped pages and dropped queries:
{reasons}

| | |
|---|---|
{{stats}}"""
    write_beir(Path(args.out), docs, queries, qrels, readme)


# --- Python docs -----------------------------------------------------------------------------------

BLOCKS = {"p", "div", "dt", "dd", "li", "pre", "h3", "h4", "h5", "h6", "tr", "table", "blockquote", "section", "ul", "ol", "dl"}
MODULE_TITLE = re.compile(r"^([\w.]+)\s*(?:—|–|:)\s*(.+)$")  # "os.path — Common ...", "email.utils: Misc..."


class SphinxPage(HTMLParser):
    """Text of a Sphinx page's main body, split at its top-level sections (h1: the intro, each h2:
    one section with its subsections). Navigation, sidebars and footers lie outside the main div;
    toctrees (lists of other pages' titles) and permalink marks are dropped too."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.main = 0  # div depth inside <div role="main">
        self.skip = 0  # div depth inside a toctree
        self.in_link = self.in_pre = False
        self.stack: list[dict] = []
        self.sections: list[dict] = []
        self.h1 = ""
        self.heading: str | None = None  # "h1" or "h2" while inside one

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "div":
            if self.main:
                self.main += 1
                if self.skip or "toctree-wrapper" in classes:
                    self.skip += 1
            elif a.get("role") == "main":
                self.main = 1
        if not self.main or self.skip:
            return
        if tag == "a" and "headerlink" in classes:
            self.in_link = True
        elif tag == "section":
            if len(self.stack) < 2:
                self.stack.append({"id": a.get("id") or str(len(self.sections)), "heading": "", "parts": []})
                self.sections.append(self.stack[-1])
            else:
                self.stack.append(self.stack[-1])
        elif tag in ("h1", "h2") and len(self.stack) == int(tag[1]):
            self.heading = tag
        elif tag == "pre":
            self.in_pre = True
        if tag in BLOCKS and self.stack:
            self.stack[-1]["parts"].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.main:
            self.main -= 1
            if self.skip:
                self.skip -= 1
        elif not self.main or self.skip:
            return
        elif tag == "a":
            self.in_link = False
        elif tag == "section" and self.stack:
            self.stack.pop()
        elif tag in ("h1", "h2"):
            self.heading = None
        elif tag == "pre":
            self.in_pre = False
        if tag in BLOCKS and self.stack:
            self.stack[-1]["parts"].append("\n")

    def handle_data(self, data: str) -> None:
        if not self.main or self.skip or self.in_link or not self.stack:
            return
        if self.heading == "h1":
            self.h1 += data
        elif self.heading == "h2":
            self.stack[-1]["heading"] += data
        else:
            self.stack[-1]["parts"].append(data if self.in_pre else re.sub(r"\s+", " ", data))


def page_docs(path: Path) -> tuple[list[dict], str | None]:
    """A page's documents (the intro first) and, for a module page, its description."""
    page = SphinxPage()
    page.feed(path.read_text(encoding="utf-8"))
    h1 = " ".join(page.h1.split())
    m = MODULE_TITLE.match(h1)
    # A module page's title is its module name alone, so that no document's title holds the query.
    name, desc = (m.group(1), m.group(2)) if m else (h1, None)
    docs = []
    for n, s in enumerate(page.sections):
        lines = [line.strip() for line in "".join(s["parts"]).splitlines()]
        text = "\n".join(line for line in lines if line and not line.startswith("Source code:"))
        heading = " ".join(s["heading"].split())
        title = f"{name} — {heading}" if n and heading else name
        docs.append(
            {"_id": f"{path.stem}#{'intro' if n == 0 else s['id']}", "title": title, "text": text[:MAX_TEXT_CHARS], "first": n == 0}
        )
    return docs, desc


def build_pydocs(args: argparse.Namespace) -> None:
    deb = Path(args.deb)
    if not deb.is_file():
        sys.exit(f"{deb}: no such file (get it with `cd /tmp && apt-get download python3.11-doc`)")
    t0 = time.time()
    docs, descs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        # python3.X-doc/html is a symlink to python3.X/html: resolve, or every page comes twice.
        pages = sorted({p.resolve() for p in Path(tmp).glob("usr/share/doc/python3*/html/library/*.html")})
        if not pages:
            sys.exit(f"{deb}: no usr/share/doc/python3*/html/library/*.html inside")
        version = pages[0].parts[-4]
        log(f"extracted {deb.name}: {len(pages)} library pages")
        short = 0
        for path in pages:
            page, desc = page_docs(path)
            for d in page:
                if len(d["text"]) < 300:
                    short += 1
                else:
                    docs.append(d)
                    if d["first"] and desc:
                        descs[d["_id"]] = " ".join(desc.split())
    seen: Counter[str] = Counter()
    for d in docs:
        seen[d["_id"]] += 1
        if seen[d["_id"]] > 1:  # Sphinx ids are unique within a page; this is only a safeguard
            d["_id"] += f"-{seen[d['_id']]}"
    shared = Counter(norm(d) for d in descs.values())
    keep = {i: d for i, d in descs.items() if len(d.split()) >= 2 and shared[norm(d)] == 1}
    queries = {f"q-{i.split('#')[0]}": d for i, d in keep.items()}
    qrels = {f"q-{i.split('#')[0]}": i for i in keep}
    log(f"parsed {len(pages)} pages in {time.time() - t0:.1f}s: {len(docs)} docs ({short} sections under 300 chars dropped)")

    readme = f"""# pydocs: the Python {version.removeprefix("python")} library reference as a retrieval corpus

Built by `python -m bench.corpora pydocs --deb {deb.name}` from the Debian package's HTML
(`usr/share/doc/{version}/html/library/*.html`, {len(pages)} pages).

**Licence**: the Python documentation is under the PSF License Version 2 (see `license.html` in the
documentation and `/usr/share/doc/{version}-doc/copyright` in the package).

**Documents**: each page is split at its top-level sections: the intro (the text under the h1,
before the first h2) and each h2 section with its subsections. `_id` is `page#section-id`
(`os.path#intro`, `os#files-and-directories`), `title` is the page title and section heading
(`os — Files and Directories`). Only the page's main body is kept: navigation, sidebars, footers,
permalink marks, toctrees (lists of other pages' titles, which would repeat the queries) and the
"Source code:" lines are dropped. Sections under 300 characters ({short}) are dropped. Text is
capped at {MAX_TEXT_CHARS} characters.

**Queries**: for each page titled "module — Description" (also "module: Description" and
"module – Description", as the email and importlib.resources pages are titled), the description
("Common pathname manipulations" for os.path) is a query whose one relevant document is that
page's intro. The title line is removed from the intro's text, and module pages' documents are
titled with the module name alone, so the query is not in the indexed text verbatim.
Descriptions under 2 words ({sum(len(d.split()) < 2 for d in descs.values())}) and descriptions
shared by several pages ({sum(shared[norm(d)] > 1 for d in descs.values())}) give no query.
Queries are split into train and test by the parity of the last byte of sha1(query id).

| | |
|---|---|
{{stats}}"""
    for d in docs:
        del d["first"]
    write_beir(Path(args.out), docs, queries, qrels, readme)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.corpora", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="corpus", required=True)
    m = sub.add_parser("manpages", help="man pages, queried by their NAME descriptions")
    m.add_argument("--out", required=True, help="output directory (created)")
    m.add_argument(
        "--sections",
        type=man_sections,
        default="1",
        help='comma-separated man sections, e.g. "5,7,8": pages are /usr/share/man/man<N>/*.<N>*.gz (default "1")',
    )
    m.add_argument("--max-docs", type=int, default=2000, help="at most this many pages (default 2000)")
    m.add_argument(
        "--max-per-package",
        type=int,
        default=500,
        help="at most this many pages from one Debian package, 0 for no cap (default 500; google-cloud-cli ships ~94%% of the pages here)",
    )
    m.add_argument("--seed", type=int, default=7, help="sampling seed (default 7)")
    p = sub.add_parser("pydocs", help="the Python library reference, queried by module descriptions")
    p.add_argument("--deb", required=True, help="path to python3.11-doc_*.deb (apt-get download python3.11-doc)")
    p.add_argument("--out", required=True, help="output directory (created)")
    args = ap.parse_args()
    (build_manpages if args.corpus == "manpages" else build_pydocs)(args)


if __name__ == "__main__":
    main()
