"""Build four "real folder" corpora from this machine's own documentation, for measuring retrieval
and abstention on documents nobody tuned to.

    python -m bench.real_folder_corpus --out DIR          # builds DIR/dev, DIR/heldout, DIR/heldout2, DIR/heldout3
    python -m bench.real_folder_corpus --out DIR --check  # checks the questions against a built DIR

Each corpus is a folder of mixed formats, as a user's would be: man pages rendered to plain text
(`MANWIDTH=80 man -l PAGE | col -bx`), README / NEWS / changelog files from /usr/share/doc and
other plain-text manuals (.gz decompressed to .txt, .md and .rst kept), HTML manuals and one PDF.
The files are fixed lists (DEV_FILES, HELDOUT_FILES, HELDOUT2_FILES, HELDOUT3_FILES: source path ->
destination path; CORPORA names them), drawn from different packages so no two corpora share a source
file; the build is reproducible on any machine with the same Debian packages (heldout2 also needs the
developers-reference and debian-refcard packages, and reads the httplib2 reference that
google-cloud-cli ships). heldout3 draws only on packages no other corpus uses (not chrony: installing
it removes systemd-timesyncd, which heldout reads); it needs

    apt-get install --no-install-recommends acl apache2-doc apache2-utils aria2 at bind9-dnsutils
        brotli cabextract ccache cron cryptsetup-bin dnsmasq-base dos2unix ethtool fetchmail flac
        gawk gdisk gifsicle haproxy hdparm iperf3 lame lftp logrotate lua5.4 lzip lzop mdadm
        memcached mercurial meson miller msmtp mtr-tiny mutt nano ncdu netcat-openbsd nftables nmap
        optipng p7zip-full pigz postgresql-client-15 procmail quilt rcs rsync screen smartmontools
        socat sox subversion sudo tcpdump traceroute tree units vorbis-tools webp whois
        wireguard-tools

A listed file that is missing is reported and left out; one whose text runs past MAX_TEXT_BYTES is
skipped. Hand-written questions live in bench/data/real_folder/<corpus>/questions.jsonl; --check
verifies that every answerable question's answer string occurs in its file (HTML tags stripped,
whitespace normalised, case-insensitive; PDFs only when pypdf is installed).
Stdlib only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

MAX_TEXT_BYTES = 400_000
EXTRACTOR_SUFFIXES = (".md", ".txt", ".rst", ".html", ".htm", ".pdf")
QUESTIONS_DIR = Path(__file__).resolve().parent / "data" / "real_folder"
KINDS = ("answerable", "near_miss", "unanswerable")
# Sources under these are man pages to render; PostgreSQL keeps its client pages in a versioned tree.
MAN_DIRS = ("/usr/share/man/", "/usr/share/postgresql/15/man/")
# man(1) and col(1) get a fixed environment: the locale decides hyphen characters and MANOPT,
# MANPAGER and friends would change the output.
_MAN_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "MANWIDTH": "80"}


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


def render_man(src: str) -> bytes:
    """`MANWIDTH=80 man -l SRC | col -bx`."""
    man = subprocess.run(["man", "-l", src], env=_MAN_ENV, capture_output=True, check=False)
    if man.returncode != 0 or not man.stdout.strip():
        raise RuntimeError(f"man -l exited {man.returncode}: {man.stderr.decode(errors='replace').strip()[:200]}")
    col = subprocess.run(["col", "-bx"], input=man.stdout, env=_MAN_ENV, capture_output=True, check=True)
    return col.stdout


_BLOCK_TAGS = set(
    "p div br li ul ol dl dt dd pre table tr td th blockquote h1 h2 h3 h4 h5 h6 hr section article header footer title body".split()
)


class _TagStripper(HTMLParser):
    """Text of an HTML page: tags dropped (a space at block boundaries), script and style skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def html_text(raw: bytes) -> str:
    p = _TagStripper()
    p.feed(_decode(raw))
    p.close()
    return "".join(p.parts)


def _content(src: str) -> bytes:
    """The bytes written for SRC: a rendered man page, a decompressed file, or the file itself."""
    if src.startswith(MAN_DIRS):
        return render_man(src)
    data = Path(src).read_bytes()
    return gzip.decompress(data) if src.endswith(".gz") else data


def _text_bytes(dest: str, data: bytes) -> int:
    if dest.endswith((".html", ".htm")):
        return len(html_text(data).encode("utf-8"))
    return len(data)  # plain text as written; a PDF by its file size


def build_corpus(name: str, files: dict[str, str], out: Path) -> Counter:
    root = out / name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    counts: Counter = Counter()
    for src, dest in files.items():
        if not os.path.exists(src):
            _warn(f"{name}: source file missing, left out: {src}")
            counts["missing"] += 1
            continue
        try:
            data = _content(src)
        except (OSError, RuntimeError, subprocess.CalledProcessError, gzip.BadGzipFile) as e:
            _warn(f"{name}: cannot read {src}, left out: {e}")
            counts["unreadable"] += 1
            continue
        size = _text_bytes(dest, data)
        if size > MAX_TEXT_BYTES:
            _warn(f"{name}: {src} has {size} bytes of text (> {MAX_TEXT_BYTES}), skipped")
            counts["too_big"] += 1
            continue
        path = root / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        counts[Path(dest).suffix.lower()] += 1
        counts["files"] += 1
        counts["bytes"] += len(data)
    return counts


def _validate_lists() -> None:
    seen: dict[str, str] = {}
    for name, files in CORPORA.items():
        shared = sorted(src for src in files if src in seen)
        if shared:
            raise SystemExit(f"{name} shares source files with {seen[shared[0]]}: {shared}")
        seen |= dict.fromkeys(files, name)
    for name, files in CORPORA.items():
        dests = list(files.values())
        if len(set(dests)) != len(dests):
            raise SystemExit(f"{name}: duplicate destination paths")
        bad = [d for d in dests if not d.lower().endswith(EXTRACTOR_SUFFIXES)]
        if bad:
            raise SystemExit(f"{name}: destinations without an extractor suffix: {bad}")


def build(out: Path) -> None:
    _validate_lists()
    for name, files in CORPORA.items():
        c = build_corpus(name, files, out)
        formats = ", ".join(f"{s} {c[s]}" for s in EXTRACTOR_SUFFIXES if c[s])
        extra = ", ".join(f"{k} {c[k]}" for k in ("missing", "unreadable", "too_big") if c[k])
        print(
            f"{name}: {c['files']} files ({formats}), {c['bytes'] / 1e6:.1f} MB" + (f"; left out: {extra}" if extra else ""),
            file=sys.stderr,
        )


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def file_text(path: Path) -> str | None:
    """Text of a built file for the check; None for a PDF when pypdf is not installed."""
    if path.suffix.lower() == ".pdf":
        try:
            from pypdf import PdfReader
        except ImportError:
            return None
        return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    data = path.read_bytes()
    return html_text(data) if path.suffix.lower() in (".html", ".htm") else _decode(data)


def load_questions(name: str) -> list[dict]:
    path = QUESTIONS_DIR / name / "questions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check(out: Path) -> int:
    """Problems found: answer strings absent from their files, and malformed questions."""
    problems = 0

    def fail(msg: str) -> None:
        nonlocal problems
        problems += 1
        print(f"FAIL {msg}", file=sys.stderr)

    for name, files in CORPORA.items():
        root = out / name
        if not root.is_dir():
            raise SystemExit(f"{root} is not built: run with --out {out} first")
        questions = load_questions(name)
        ids = [q["id"] for q in questions]
        if len(set(ids)) != len(ids):
            fail(f"{name}: duplicate question ids")
        texts: dict[str, str | None] = {}
        skipped = 0
        for q in questions:
            qid, kind, file, answer = q["id"], q.get("kind"), q.get("file"), q.get("answer")
            if kind not in KINDS or not q.get("text"):
                fail(f"{name} {qid}: kind must be one of {KINDS} and text non-empty")
                continue
            if kind == "unanswerable":
                if file is not None or answer is not None:
                    fail(f"{name} {qid}: unanswerable questions take file and answer null")
                continue
            if file not in files.values():
                fail(f"{name} {qid}: {file!r} is not a destination in this corpus")
                continue
            if not (root / file).is_file():
                fail(f"{name} {qid}: {file} was not built")
                continue
            if kind == "near_miss":
                if answer is not None:
                    fail(f"{name} {qid}: near_miss questions take answer null")
                continue
            if not answer:
                fail(f"{name} {qid}: answerable question without an answer string")
                continue
            if file not in texts:
                texts[file] = file_text(root / file)
            text = texts[file]
            if text is None:
                skipped += 1
                continue
            if _norm(answer) not in _norm(text):
                fail(f"{name} {qid}: answer {answer!r} not found in {file}")
        counts = Counter(q.get("kind") for q in questions)
        print(
            f"{name}: {len(questions)} questions ({', '.join(f'{k} {counts[k]}' for k in KINDS)})"
            + (f"; {skipped} PDF answers unchecked (pypdf not installed)" if skipped else ""),
            file=sys.stderr,
        )
    print("check: " + ("all answers found" if not problems else f"{problems} problem(s)"), file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory; its corpus folders (DIR/dev, ...) are replaced")
    ap.add_argument("--check", action="store_true", help="check the questions against an already built DIR instead of building")
    args = ap.parse_args(argv)
    if args.check:
        return 1 if check(args.out) else 0
    build(args.out)
    return 0


# Fixed file lists: source path -> destination path inside the corpus folder. Drawn from different
# packages (dev: coreutils, findutils, procps, openssh, dpkg/apt, e2fsprogs, valgrind, libffi, ...;
# heldout: git, systemd, iproute2, openssl, PAM, nodejs, libxslt, pip, ...; heldout2: cmake, perf,
# LLVM, universal-ctags, groff, X11 and xdg utilities, avahi, OpenJDK, gcloud, vim, Debian's
# developers-reference, ...; heldout3: mutt, fetchmail, procmail, sudo, rsync, socat, the Apache
# manual, PostgreSQL's client, RCS, quilt, cryptsetup, mdadm, audio and image tools, ...), so no source
# file appears in two corpora; heldout2 and heldout3 share no package with any other corpus (dev and
# heldout share two: a man page each from manpages and ca-certificates).
DEV_FILES: dict[str, str] = {
    "/usr/share/man/man1/ls.1.gz": "manpages/ls.1.txt",
    "/usr/share/man/man1/cp.1.gz": "manpages/cp.1.txt",
    "/usr/share/man/man1/chmod.1.gz": "manpages/chmod.1.txt",
    "/usr/share/man/man1/df.1.gz": "manpages/df.1.txt",
    "/usr/share/man/man1/du.1.gz": "manpages/du.1.txt",
    "/usr/share/man/man1/sort.1.gz": "manpages/sort.1.txt",
    "/usr/share/man/man1/uniq.1.gz": "manpages/uniq.1.txt",
    "/usr/share/man/man1/cut.1.gz": "manpages/cut.1.txt",
    "/usr/share/man/man1/tr.1.gz": "manpages/tr.1.txt",
    "/usr/share/man/man1/tail.1.gz": "manpages/tail.1.txt",
    "/usr/share/man/man1/date.1.gz": "manpages/date.1.txt",
    "/usr/share/man/man1/touch.1.gz": "manpages/touch.1.txt",
    "/usr/share/man/man1/stat.1.gz": "manpages/stat.1.txt",
    "/usr/share/man/man1/split.1.gz": "manpages/split.1.txt",
    "/usr/share/man/man1/shuf.1.gz": "manpages/shuf.1.txt",
    "/usr/share/man/man1/timeout.1.gz": "manpages/timeout.1.txt",
    "/usr/share/man/man1/nice.1.gz": "manpages/nice.1.txt",
    "/usr/share/man/man1/numfmt.1.gz": "manpages/numfmt.1.txt",
    "/usr/share/man/man1/dd.1.gz": "manpages/dd.1.txt",
    "/usr/share/man/man1/od.1.gz": "manpages/od.1.txt",
    "/usr/share/man/man1/truncate.1.gz": "manpages/truncate.1.txt",
    "/usr/share/man/man1/stdbuf.1.gz": "manpages/stdbuf.1.txt",
    "/usr/share/man/man1/shred.1.gz": "manpages/shred.1.txt",
    "/usr/share/man/man1/find.1.gz": "manpages/find.1.txt",
    "/usr/share/man/man1/xargs.1.gz": "manpages/xargs.1.txt",
    "/usr/share/man/man1/grep.1.gz": "manpages/grep.1.txt",
    "/usr/share/man/man1/sed.1.gz": "manpages/sed.1.txt",
    "/usr/share/man/man1/tar.1.gz": "manpages/tar.1.txt",
    "/usr/share/man/man1/gzip.1.gz": "manpages/gzip.1.txt",
    "/usr/share/man/man1/bzip2.1.gz": "manpages/bzip2.1.txt",
    "/usr/share/man/man1/xz.1.gz": "manpages/xz.1.txt",
    "/usr/share/man/man1/zstd.1.gz": "manpages/zstd.1.txt",
    "/usr/share/man/man1/less.1.gz": "manpages/less.1.txt",
    "/usr/share/man/man1/diff.1.gz": "manpages/diff.1.txt",
    "/usr/share/man/man1/patch.1.gz": "manpages/patch.1.txt",
    "/usr/share/man/man1/ps.1.gz": "manpages/ps.1.txt",
    "/usr/share/man/man1/top.1.gz": "manpages/top.1.txt",
    "/usr/share/man/man1/free.1.gz": "manpages/free.1.txt",
    "/usr/share/man/man1/kill.1.gz": "manpages/kill.1.txt",
    "/usr/share/man/man1/pgrep.1.gz": "manpages/pgrep.1.txt",
    "/usr/share/man/man1/watch.1.gz": "manpages/watch.1.txt",
    "/usr/share/man/man1/killall.1.gz": "manpages/killall.1.txt",
    "/usr/share/man/man1/fuser.1.gz": "manpages/fuser.1.txt",
    "/usr/share/man/man1/ssh.1.gz": "manpages/ssh.1.txt",
    "/usr/share/man/man1/scp.1.gz": "manpages/scp.1.txt",
    "/usr/share/man/man1/sftp.1.gz": "manpages/sftp.1.txt",
    "/usr/share/man/man1/ssh-keygen.1.gz": "manpages/ssh-keygen.1.txt",
    "/usr/share/man/man1/ssh-agent.1.gz": "manpages/ssh-agent.1.txt",
    "/usr/share/man/man1/man.1.gz": "manpages/man.1.txt",
    "/usr/share/man/man1/passwd.1.gz": "manpages/passwd.1.txt",
    "/usr/share/man/man1/chage.1.gz": "manpages/chage.1.txt",
    "/usr/share/man/man1/dmesg.1.gz": "manpages/dmesg.1.txt",
    "/usr/share/man/man1/script.1.gz": "manpages/script.1.txt",
    "/usr/share/man/man1/column.1.gz": "manpages/column.1.txt",
    "/usr/share/man/man1/lscpu.1.gz": "manpages/lscpu.1.txt",
    "/usr/share/man/man1/flock.1.gz": "manpages/flock.1.txt",
    "/usr/share/man/man1/setpriv.1.gz": "manpages/setpriv.1.txt",
    "/usr/share/man/man1/unshare.1.gz": "manpages/unshare.1.txt",
    "/usr/share/man/man1/taskset.1.gz": "manpages/taskset.1.txt",
    "/usr/share/man/man1/ionice.1.gz": "manpages/ionice.1.txt",
    "/usr/share/man/man1/renice.1.gz": "manpages/renice.1.txt",
    "/usr/share/man/man1/hexdump.1.gz": "manpages/hexdump.1.txt",
    "/usr/share/man/man1/unzip.1.gz": "manpages/unzip.1.txt",
    "/usr/share/man/man1/zip.1.gz": "manpages/zip.1.txt",
    "/usr/share/man/man1/valgrind.1.gz": "manpages/valgrind.1.txt",
    "/usr/share/man/man1/cg_annotate.1.gz": "manpages/cg_annotate.1.txt",
    "/usr/share/man/man1/time.1.gz": "manpages/time.1.txt",
    "/usr/share/man/man1/bc.1.gz": "manpages/bc.1.txt",
    "/usr/share/man/man1/fc-list.1.gz": "manpages/fc-list.1.txt",
    "/usr/share/man/man1/fc-match.1.gz": "manpages/fc-match.1.txt",
    "/usr/share/man/man1/dpkg.1.gz": "manpages/dpkg.1.txt",
    "/usr/share/man/man1/dpkg-query.1.gz": "manpages/dpkg-query.1.txt",
    "/usr/share/man/man1/mawk.1.gz": "manpages/mawk.1.txt",
    "/usr/share/man/man1/ed.1.gz": "manpages/ed.1.txt",
    "/usr/share/man/man5/passwd.5.gz": "manpages/passwd.5.txt",
    "/usr/share/man/man5/shadow.5.gz": "manpages/shadow.5.txt",
    "/usr/share/man/man5/group.5.gz": "manpages/group.5.txt",
    "/usr/share/man/man5/fstab.5.gz": "manpages/fstab.5.txt",
    "/usr/share/man/man5/login.defs.5.gz": "manpages/login.defs.5.txt",
    "/usr/share/man/man5/adduser.conf.5.gz": "manpages/adduser.conf.5.txt",
    "/usr/share/man/man5/sources.list.5.gz": "manpages/sources.list.5.txt",
    "/usr/share/man/man5/apt.conf.5.gz": "manpages/apt.conf.5.txt",
    "/usr/share/man/man5/apt_preferences.5.gz": "manpages/apt_preferences.5.txt",
    "/usr/share/man/man5/ssh_config.5.gz": "manpages/ssh_config.5.txt",
    "/usr/share/man/man5/mke2fs.conf.5.gz": "manpages/mke2fs.conf.5.txt",
    "/usr/share/man/man5/sysctl.conf.5.gz": "manpages/sysctl.conf.5.txt",
    "/usr/share/man/man5/fonts-conf.5.gz": "manpages/fonts-conf.5.txt",
    "/usr/share/man/man5/manpath.5.gz": "manpages/manpath.5.txt",
    "/usr/share/man/man5/deb-control.5.gz": "manpages/deb-control.5.txt",
    "/usr/share/man/man5/dpkg.cfg.5.gz": "manpages/dpkg.cfg.5.txt",
    "/usr/share/man/man8/sysctl.8.gz": "manpages/sysctl.8.txt",
    "/usr/share/man/man8/mke2fs.8.gz": "manpages/mke2fs.8.txt",
    "/usr/share/man/man8/tune2fs.8.gz": "manpages/tune2fs.8.txt",
    "/usr/share/man/man8/e2fsck.8.gz": "manpages/e2fsck.8.txt",
    "/usr/share/man/man8/debugfs.8.gz": "manpages/debugfs.8.txt",
    "/usr/share/man/man8/useradd.8.gz": "manpages/useradd.8.txt",
    "/usr/share/man/man8/usermod.8.gz": "manpages/usermod.8.txt",
    "/usr/share/man/man8/adduser.8.gz": "manpages/adduser.8.txt",
    "/usr/share/man/man8/apt.8.gz": "manpages/apt.8.txt",
    "/usr/share/man/man8/apt-get.8.gz": "manpages/apt-get.8.txt",
    "/usr/share/man/man8/apt-cache.8.gz": "manpages/apt-cache.8.txt",
    "/usr/share/man/man8/mount.8.gz": "manpages/mount.8.txt",
    "/usr/share/man/man8/swapon.8.gz": "manpages/swapon.8.txt",
    "/usr/share/man/man8/blkid.8.gz": "manpages/blkid.8.txt",
    "/usr/share/man/man8/lsblk.8.gz": "manpages/lsblk.8.txt",
    "/usr/share/man/man8/findmnt.8.gz": "manpages/findmnt.8.txt",
    "/usr/share/man/man8/fsck.8.gz": "manpages/fsck.8.txt",
    "/usr/share/man/man8/hwclock.8.gz": "manpages/hwclock.8.txt",
    "/usr/share/man/man8/mandb.8.gz": "manpages/mandb.8.txt",
    "/usr/share/man/man8/invoke-rc.d.8.gz": "manpages/invoke-rc.d.8.txt",
    "/usr/share/man/man8/update-rc.d.8.gz": "manpages/update-rc.d.8.txt",
    "/usr/share/doc/coreutils/README.gz": "docs/coreutils/README.txt",
    "/usr/share/doc/coreutils/NEWS.gz": "docs/coreutils/NEWS.txt",
    "/usr/share/doc/findutils/README.gz": "docs/findutils/README.txt",
    "/usr/share/doc/findutils/NEWS.gz": "docs/findutils/NEWS.txt",
    "/usr/share/doc/grep/README": "docs/grep/README.txt",
    "/usr/share/doc/grep/NEWS.gz": "docs/grep/NEWS.txt",
    "/usr/share/doc/sed/NEWS.gz": "docs/sed/NEWS.txt",
    "/usr/share/doc/sed/sedfaq.txt.gz": "docs/sed/sedfaq.txt",
    "/usr/share/doc/tar/NEWS.gz": "docs/tar/NEWS.txt",
    "/usr/share/doc/gzip/README.gz": "docs/gzip/README.txt",
    "/usr/share/doc/gzip/NEWS.gz": "docs/gzip/NEWS.txt",
    "/usr/share/doc/bzip2/changelog.gz": "docs/bzip2/changelog.txt",
    "/usr/share/doc/xz-utils/README.gz": "docs/xz-utils/README.txt",
    "/usr/share/doc/xz-utils/NEWS.gz": "docs/xz-utils/NEWS.txt",
    "/usr/share/doc/xz-utils/faq.txt.gz": "docs/xz-utils/faq.txt",
    "/usr/share/doc/xz-utils/history.txt.gz": "docs/xz-utils/history.txt",
    "/usr/share/doc/liblzma-dev/xz-file-format.txt.gz": "docs/liblzma-dev/xz-file-format.txt",
    "/usr/share/doc/liblzma-dev/lzma-file-format.txt.gz": "docs/liblzma-dev/lzma-file-format.txt",
    "/usr/share/doc/zstd/README.md.gz": "docs/zstd/README.md",
    "/usr/share/doc/zstd/CONTRIBUTING.md.gz": "docs/zstd/CONTRIBUTING.md",
    "/usr/share/doc/zstd/TESTING.md": "docs/zstd/TESTING.md",
    "/usr/share/doc/less/NEWS.gz": "docs/less/NEWS.txt",
    "/usr/share/doc/diffutils/NEWS.gz": "docs/diffutils/NEWS.txt",
    "/usr/share/doc/patch/NEWS.gz": "docs/patch/NEWS.txt",
    "/usr/share/doc/patch/README": "docs/patch/README.txt",
    "/usr/share/doc/procps/bugs.md": "docs/procps/bugs.md",
    "/usr/share/doc/procps/README.Debian": "docs/procps/README.Debian.txt",
    "/usr/share/doc/psmisc/README.md": "docs/psmisc/README.md",
    "/usr/share/doc/openssh-client/README": "docs/openssh-client/README.txt",
    "/usr/share/doc/openssh-client/README.dns": "docs/openssh-client/README.dns.txt",
    "/usr/share/doc/openssh-client/README.tun.gz": "docs/openssh-client/README.tun.txt",
    "/usr/share/doc/openssh-client/README.Debian.gz": "docs/openssh-client/README.Debian.txt",
    "/usr/share/doc/openssh-client/NEWS.Debian.gz": "docs/openssh-client/NEWS.Debian.txt",
    "/usr/share/doc/man-db/README.md.gz": "docs/man-db/README.md",
    "/usr/share/doc/man-db/NEWS.md.gz": "docs/man-db/NEWS.md",
    "/usr/share/doc/man-db/man-db-manual.txt.gz": "docs/man-db/man-db-manual.txt",
    "/usr/share/doc/e2fsprogs/README": "docs/e2fsprogs/README.txt",
    "/usr/share/doc/apt/README.md.gz": "docs/apt/README.md",
    "/usr/share/doc/apt/NEWS.Debian.gz": "docs/apt/NEWS.Debian.txt",
    "/usr/share/doc/dpkg/spec/triggers.txt": "docs/dpkg/spec/triggers.txt",
    "/usr/share/doc/dpkg/spec/rootless-builds.txt": "docs/dpkg/spec/rootless-builds.txt",
    "/usr/share/doc/dpkg/spec/protected-field.txt": "docs/dpkg/spec/protected-field.txt",
    "/usr/share/doc/dpkg/spec/frontend-api.txt": "docs/dpkg/spec/frontend-api.txt",
    "/usr/share/doc/dpkg/README.api": "docs/dpkg/README.api.txt",
    "/usr/share/doc/dpkg/README.feature-removal-schedule.gz": "docs/dpkg/README.feature-removal-schedule.txt",
    "/usr/share/doc/adduser/README.gz": "docs/adduser/README.txt",
    "/usr/share/doc/adduser/NEWS.Debian.gz": "docs/adduser/NEWS.Debian.txt",
    "/usr/share/doc/passwd/README.Debian": "docs/passwd/README.Debian.txt",
    "/usr/share/doc/util-linux/blkid.txt": "docs/util-linux/blkid.txt",
    "/usr/share/doc/util-linux/deprecated.txt": "docs/util-linux/deprecated.txt",
    "/usr/share/doc/util-linux/howto-contribute.txt.gz": "docs/util-linux/howto-contribute.txt",
    "/usr/share/doc/util-linux/howto-pull-request.txt.gz": "docs/util-linux/howto-pull-request.txt",
    "/usr/share/doc/util-linux/howto-usage-function.txt.gz": "docs/util-linux/howto-usage-function.txt",
    "/usr/share/doc/util-linux/modems-with-agetty.txt": "docs/util-linux/modems-with-agetty.txt",
    "/usr/share/doc/util-linux/parse-date.txt.gz": "docs/util-linux/parse-date.txt",
    "/usr/share/doc/util-linux/poeigl.txt.gz": "docs/util-linux/poeigl.txt",
    "/usr/share/doc/valgrind/README": "docs/valgrind/README.txt",
    "/usr/share/doc/valgrind/README_MISSING_SYSCALL_OR_IOCTL.gz": "docs/valgrind/README_MISSING_SYSCALL_OR_IOCTL.txt",
    "/usr/share/doc/valgrind/README.Debian": "docs/valgrind/README.Debian.txt",
    "/usr/share/doc/bc/README": "docs/bc/README.txt",
    "/usr/share/doc/bc/NEWS.gz": "docs/bc/NEWS.txt",
    "/usr/share/doc/time/NEWS.gz": "docs/time/NEWS.txt",
    "/usr/share/doc/base-passwd/README": "docs/base-passwd/README.txt",
    "/usr/share/doc/fontconfig/README.Debian": "docs/fontconfig/README.Debian.txt",
    "/usr/share/doc/libffi8/README.md.gz": "docs/libffi8/README.md",
    "/usr/share/doc/shared-mime-info/README.md": "docs/shared-mime-info/README.md",
    "/usr/share/doc/shared-mime-info/NEWS.gz": "docs/shared-mime-info/NEWS.txt",
    "/usr/share/doc/ed/README.gz": "docs/ed/README.txt",
    "/usr/share/doc/ed/NEWS.gz": "docs/ed/NEWS.txt",
    "/usr/share/doc/mawk/README": "docs/mawk/README.txt",
    "/usr/share/doc/bash/README.gz": "docs/bash/README.txt",
    "/usr/share/doc/bash/NEWS.gz": "docs/bash/NEWS.txt",
    "/usr/share/doc/bash/README.Debian.gz": "docs/bash/README.Debian.txt",
    "/usr/share/doc/libjpeg62-turbo-dev/usage.txt.gz": "docs/libjpeg62-turbo-dev/usage.txt",
    "/usr/share/doc/libjpeg62-turbo-dev/wizard.txt.gz": "docs/libjpeg62-turbo-dev/wizard.txt",
    "/usr/share/doc/libjpeg62-turbo-dev/libjpeg.txt.gz": "docs/libjpeg62-turbo-dev/libjpeg.txt",
    "/usr/share/doc/libjpeg62-turbo-dev/structure.txt.gz": "docs/libjpeg62-turbo-dev/structure.txt",
    "/usr/share/doc/libpng16-16/libpng-manual.txt.gz": "docs/libpng16-16/libpng-manual.txt",
    "/usr/share/doc/base-files/README": "docs/base-files/README.txt",
    "/usr/share/doc/ca-certificates/README.Debian": "docs/ca-certificates/README.Debian.txt",
    "/usr/share/doc/init-system-helpers/README.invoke-rc.d.gz": "docs/init-system-helpers/README.invoke-rc.d.txt",
    "/usr/share/doc/init-system-helpers/README.policy-rc.d.gz": "docs/init-system-helpers/README.policy-rc.d.txt",
    "/usr/share/doc/valgrind/html/FAQ.html": "html/valgrind/html/FAQ.html",
    "/usr/share/doc/valgrind/html/QuickStart.html": "html/valgrind/html/QuickStart.html",
    "/usr/share/doc/valgrind/html/bbv-manual.html": "html/valgrind/html/bbv-manual.html",
    "/usr/share/doc/valgrind/html/cg-manual.html": "html/valgrind/html/cg-manual.html",
    "/usr/share/doc/valgrind/html/cl-format.html": "html/valgrind/html/cl-format.html",
    "/usr/share/doc/valgrind/html/cl-manual.html": "html/valgrind/html/cl-manual.html",
    "/usr/share/doc/valgrind/html/design-impl.html": "html/valgrind/html/design-impl.html",
    "/usr/share/doc/valgrind/html/dh-manual.html": "html/valgrind/html/dh-manual.html",
    "/usr/share/doc/valgrind/html/dist.authors.html": "html/valgrind/html/dist.authors.html",
    "/usr/share/doc/valgrind/html/dist.html": "html/valgrind/html/dist.html",
    "/usr/share/doc/valgrind/html/dist.news.html": "html/valgrind/html/dist.news.html",
    "/usr/share/doc/valgrind/html/dist.news.old.html": "html/valgrind/html/dist.news.old.html",
    "/usr/share/doc/valgrind/html/dist.readme-android.html": "html/valgrind/html/dist.readme-android.html",
    "/usr/share/doc/valgrind/html/dist.readme-android_emulator.html": "html/valgrind/html/dist.readme-android_emulator.html",
    "/usr/share/doc/valgrind/html/dist.readme-developers.html": "html/valgrind/html/dist.readme-developers.html",
    "/usr/share/doc/valgrind/html/dist.readme-freebsd.html": "html/valgrind/html/dist.readme-freebsd.html",
    "/usr/share/doc/valgrind/html/dist.readme-mips.html": "html/valgrind/html/dist.readme-mips.html",
    "/usr/share/doc/valgrind/html/dist.readme-missing.html": "html/valgrind/html/dist.readme-missing.html",
    "/usr/share/doc/valgrind/html/dist.readme-packagers.html": "html/valgrind/html/dist.readme-packagers.html",
    "/usr/share/doc/valgrind/html/dist.readme-s390.html": "html/valgrind/html/dist.readme-s390.html",
    "/usr/share/doc/valgrind/html/dist.readme-solaris.html": "html/valgrind/html/dist.readme-solaris.html",
    "/usr/share/doc/valgrind/html/dist.readme.html": "html/valgrind/html/dist.readme.html",
    "/usr/share/doc/valgrind/html/drd-manual.html": "html/valgrind/html/drd-manual.html",
    "/usr/share/doc/valgrind/html/faq.html": "html/valgrind/html/faq.html",
    "/usr/share/doc/valgrind/html/hg-manual.html": "html/valgrind/html/hg-manual.html",
    "/usr/share/doc/valgrind/html/index.html": "html/valgrind/html/index.html",
    "/usr/share/doc/valgrind/html/license.gfdl.html": "html/valgrind/html/license.gfdl.html",
    "/usr/share/doc/valgrind/html/license.gpl.html": "html/valgrind/html/license.gpl.html",
    "/usr/share/doc/valgrind/html/licenses.html": "html/valgrind/html/licenses.html",
    "/usr/share/doc/valgrind/html/lk-manual.html": "html/valgrind/html/lk-manual.html",
    "/usr/share/doc/valgrind/html/manual-core-adv.html": "html/valgrind/html/manual-core-adv.html",
    "/usr/share/doc/valgrind/html/manual-core.html": "html/valgrind/html/manual-core.html",
    "/usr/share/doc/valgrind/html/manual-intro.html": "html/valgrind/html/manual-intro.html",
    "/usr/share/doc/valgrind/html/manual-writing-tools.html": "html/valgrind/html/manual-writing-tools.html",
    "/usr/share/doc/valgrind/html/manual.html": "html/valgrind/html/manual.html",
    "/usr/share/doc/valgrind/html/mc-manual.html": "html/valgrind/html/mc-manual.html",
    "/usr/share/doc/valgrind/html/ms-manual.html": "html/valgrind/html/ms-manual.html",
    "/usr/share/doc/valgrind/html/nl-manual.html": "html/valgrind/html/nl-manual.html",
    "/usr/share/doc/valgrind/html/quick-start.html": "html/valgrind/html/quick-start.html",
    "/usr/share/doc/valgrind/html/tech-docs.html": "html/valgrind/html/tech-docs.html",
    "/usr/share/doc/libffi8/html/Arrays-Unions-Enums.html": "html/libffi8/html/Arrays-Unions-Enums.html",
    "/usr/share/doc/libffi8/html/Closure-Example.html": "html/libffi8/html/Closure-Example.html",
    "/usr/share/doc/libffi8/html/Complex-Type-Example.html": "html/libffi8/html/Complex-Type-Example.html",
    "/usr/share/doc/libffi8/html/Complex.html": "html/libffi8/html/Complex.html",
    "/usr/share/doc/libffi8/html/Index.html": "html/libffi8/html/Index.html",
    "/usr/share/doc/libffi8/html/Introduction.html": "html/libffi8/html/Introduction.html",
    "/usr/share/doc/libffi8/html/Memory-Usage.html": "html/libffi8/html/Memory-Usage.html",
    "/usr/share/doc/libffi8/html/Missing-Features.html": "html/libffi8/html/Missing-Features.html",
    "/usr/share/doc/libffi8/html/Multiple-ABIs.html": "html/libffi8/html/Multiple-ABIs.html",
    "/usr/share/doc/libffi8/html/Primitive-Types.html": "html/libffi8/html/Primitive-Types.html",
    "/usr/share/doc/libffi8/html/Simple-Example.html": "html/libffi8/html/Simple-Example.html",
    "/usr/share/doc/libffi8/html/Size-and-Alignment.html": "html/libffi8/html/Size-and-Alignment.html",
    "/usr/share/doc/libffi8/html/Structures.html": "html/libffi8/html/Structures.html",
    "/usr/share/doc/libffi8/html/The-Basics.html": "html/libffi8/html/The-Basics.html",
    "/usr/share/doc/libffi8/html/The-Closure-API.html": "html/libffi8/html/The-Closure-API.html",
    "/usr/share/doc/libffi8/html/Thread-Safety.html": "html/libffi8/html/Thread-Safety.html",
    "/usr/share/doc/libffi8/html/Type-Example.html": "html/libffi8/html/Type-Example.html",
    "/usr/share/doc/libffi8/html/Types.html": "html/libffi8/html/Types.html",
    "/usr/share/doc/libffi8/html/Using-libffi.html": "html/libffi8/html/Using-libffi.html",
    "/usr/share/doc/libffi8/html/index.html": "html/libffi8/html/index.html",
    "/usr/share/doc/bzip2/manual.html": "html/bzip2/manual.html",
    "/usr/share/doc/time/time.html": "html/time/time.html",
    "/usr/share/doc/bc/bc.html": "html/bc/bc.html",
    "/usr/share/doc/fontconfig/fontconfig-user.html": "html/fontconfig/fontconfig-user.html",
    "/usr/share/doc/base-passwd/users-and-groups.html": "html/base-passwd/users-and-groups.html",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf": "pdf/shared-mime-info-spec.pdf",
}

HELDOUT_FILES: dict[str, str] = {
    "/usr/share/man/man1/git.1.gz": "manpages/git.1.txt",
    "/usr/share/man/man1/git-commit.1.gz": "manpages/git-commit.1.txt",
    "/usr/share/man/man1/git-rebase.1.gz": "manpages/git-rebase.1.txt",
    "/usr/share/man/man1/git-log.1.gz": "manpages/git-log.1.txt",
    "/usr/share/man/man1/git-stash.1.gz": "manpages/git-stash.1.txt",
    "/usr/share/man/man1/git-bisect.1.gz": "manpages/git-bisect.1.txt",
    "/usr/share/man/man1/git-branch.1.gz": "manpages/git-branch.1.txt",
    "/usr/share/man/man1/git-checkout.1.gz": "manpages/git-checkout.1.txt",
    "/usr/share/man/man1/git-switch.1.gz": "manpages/git-switch.1.txt",
    "/usr/share/man/man1/git-reset.1.gz": "manpages/git-reset.1.txt",
    "/usr/share/man/man1/git-merge.1.gz": "manpages/git-merge.1.txt",
    "/usr/share/man/man1/git-pull.1.gz": "manpages/git-pull.1.txt",
    "/usr/share/man/man1/git-push.1.gz": "manpages/git-push.1.txt",
    "/usr/share/man/man1/git-worktree.1.gz": "manpages/git-worktree.1.txt",
    "/usr/share/man/man1/git-blame.1.gz": "manpages/git-blame.1.txt",
    "/usr/share/man/man1/git-diff.1.gz": "manpages/git-diff.1.txt",
    "/usr/share/man/man1/git-reflog.1.gz": "manpages/git-reflog.1.txt",
    "/usr/share/man/man1/git-config.1.gz": "manpages/git-config.1.txt",
    "/usr/share/man/man1/git-submodule.1.gz": "manpages/git-submodule.1.txt",
    "/usr/share/man/man1/git-grep.1.gz": "manpages/git-grep.1.txt",
    "/usr/share/man/man1/git-sparse-checkout.1.gz": "manpages/git-sparse-checkout.1.txt",
    "/usr/share/man/man1/git-format-patch.1.gz": "manpages/git-format-patch.1.txt",
    "/usr/share/man/man1/systemctl.1.gz": "manpages/systemctl.1.txt",
    "/usr/share/man/man1/journalctl.1.gz": "manpages/journalctl.1.txt",
    "/usr/share/man/man1/hostnamectl.1.gz": "manpages/hostnamectl.1.txt",
    "/usr/share/man/man1/timedatectl.1.gz": "manpages/timedatectl.1.txt",
    "/usr/share/man/man1/loginctl.1.gz": "manpages/loginctl.1.txt",
    "/usr/share/man/man1/busctl.1.gz": "manpages/busctl.1.txt",
    "/usr/share/man/man1/systemd-analyze.1.gz": "manpages/systemd-analyze.1.txt",
    "/usr/share/man/man1/systemd-run.1.gz": "manpages/systemd-run.1.txt",
    "/usr/share/man/man1/openssl.1ssl.gz": "manpages/openssl.1ssl.txt",
    "/usr/share/man/man1/openssl-req.1ssl.gz": "manpages/openssl-req.1ssl.txt",
    "/usr/share/man/man1/openssl-x509.1ssl.gz": "manpages/openssl-x509.1ssl.txt",
    "/usr/share/man/man1/openssl-s_client.1ssl.gz": "manpages/openssl-s_client.1ssl.txt",
    "/usr/share/man/man1/openssl-dgst.1ssl.gz": "manpages/openssl-dgst.1ssl.txt",
    "/usr/share/man/man1/openssl-pkcs12.1ssl.gz": "manpages/openssl-pkcs12.1ssl.txt",
    "/usr/share/man/man1/objdump.1.gz": "manpages/objdump.1.txt",
    "/usr/share/man/man1/nm.1.gz": "manpages/nm.1.txt",
    "/usr/share/man/man1/readelf.1.gz": "manpages/readelf.1.txt",
    "/usr/share/man/man1/msgfmt.1.gz": "manpages/msgfmt.1.txt",
    "/usr/share/man/man1/xgettext.1.gz": "manpages/xgettext.1.txt",
    "/usr/share/man/man1/make.1.gz": "manpages/make.1.txt",
    "/usr/share/man/man1/wget.1.gz": "manpages/wget.1.txt",
    "/usr/share/man/man1/curl.1.gz": "manpages/curl.1.txt",
    "/usr/share/man/man1/tmux.1.gz": "manpages/tmux.1.txt",
    "/usr/share/man/man1/jq.1.gz": "manpages/jq.1.txt",
    "/usr/share/man/man1/sqlite3.1.gz": "manpages/sqlite3.1.txt",
    "/usr/share/man/man1/node.1.gz": "manpages/node.1.txt",
    "/usr/share/man/man1/strace.1.gz": "manpages/strace.1.txt",
    "/usr/share/man/man1/gpg.1.gz": "manpages/gpg.1.txt",
    "/usr/share/man/man1/pkgconf.1.gz": "manpages/pkgconf.1.txt",
    "/usr/share/man/man1/infocmp.1.gz": "manpages/infocmp.1.txt",
    "/usr/share/man/man1/xprop.1.gz": "manpages/xprop.1.txt",
    "/usr/share/man/man1/dbus-send.1.gz": "manpages/dbus-send.1.txt",
    "/usr/share/man/man1/dbus-daemon.1.gz": "manpages/dbus-daemon.1.txt",
    "/usr/share/man/man1/gsettings.1.gz": "manpages/gsettings.1.txt",
    "/usr/share/man/man1/python3.11.1.gz": "manpages/python3.11.1.txt",
    "/usr/share/man/man1/xxd.1.gz": "manpages/xxd.1.txt",
    "/usr/share/man/man1/perl.1.gz": "manpages/perl.1.txt",
    "/usr/share/man/man1/file.1.gz": "manpages/file.1.txt",
    "/usr/share/man/man1/cscope.1.gz": "manpages/cscope.1.txt",
    "/usr/share/man/man1/iconv.1.gz": "manpages/iconv.1.txt",
    "/usr/share/man/man1/pg_createcluster.1.gz": "manpages/pg_createcluster.1.txt",
    "/usr/share/man/man1/pg_lsclusters.1.gz": "manpages/pg_lsclusters.1.txt",
    "/usr/share/man/man1/pg_ctlcluster.1.gz": "manpages/pg_ctlcluster.1.txt",
    "/usr/share/man/man5/gitignore.5.gz": "manpages/gitignore.5.txt",
    "/usr/share/man/man5/gitattributes.5.gz": "manpages/gitattributes.5.txt",
    "/usr/share/man/man5/gitmodules.5.gz": "manpages/gitmodules.5.txt",
    "/usr/share/man/man5/githooks.5.gz": "manpages/githooks.5.txt",
    "/usr/share/man/man5/journald.conf.5.gz": "manpages/journald.conf.5.txt",
    "/usr/share/man/man5/logind.conf.5.gz": "manpages/logind.conf.5.txt",
    "/usr/share/man/man5/systemd.service.5.gz": "manpages/systemd.service.5.txt",
    "/usr/share/man/man5/systemd.unit.5.gz": "manpages/systemd.unit.5.txt",
    "/usr/share/man/man5/systemd.timer.5.gz": "manpages/systemd.timer.5.txt",
    "/usr/share/man/man5/systemd.exec.5.gz": "manpages/systemd.exec.5.txt",
    "/usr/share/man/man5/systemd.socket.5.gz": "manpages/systemd.socket.5.txt",
    "/usr/share/man/man5/tmpfiles.d.5.gz": "manpages/tmpfiles.d.5.txt",
    "/usr/share/man/man5/os-release.5.gz": "manpages/os-release.5.txt",
    "/usr/share/man/man5/systemd.resource-control.5.gz": "manpages/systemd.resource-control.5.txt",
    "/usr/share/man/man5/timesyncd.conf.5.gz": "manpages/timesyncd.conf.5.txt",
    "/usr/share/man/man5/sysusers.d.5.gz": "manpages/sysusers.d.5.txt",
    "/usr/share/man/man5/config.5ssl.gz": "manpages/config.5ssl.txt",
    "/usr/share/man/man5/limits.conf.5.gz": "manpages/limits.conf.5.txt",
    "/usr/share/man/man5/access.conf.5.gz": "manpages/access.conf.5.txt",
    "/usr/share/man/man5/pam.conf.5.gz": "manpages/pam.conf.5.txt",
    "/usr/share/man/man5/magic.5.gz": "manpages/magic.5.txt",
    "/usr/share/man/man5/terminfo.5.gz": "manpages/terminfo.5.txt",
    "/usr/share/man/man5/services.5.gz": "manpages/services.5.txt",
    "/usr/share/man/man5/hosts.5.gz": "manpages/hosts.5.txt",
    "/usr/share/man/man5/nsswitch.conf.5.gz": "manpages/nsswitch.conf.5.txt",
    "/usr/share/man/man5/resolv.conf.5.gz": "manpages/resolv.conf.5.txt",
    "/usr/share/man/man8/ip.8.gz": "manpages/ip.8.txt",
    "/usr/share/man/man8/ip-address.8.gz": "manpages/ip-address.8.txt",
    "/usr/share/man/man8/ip-route.8.gz": "manpages/ip-route.8.txt",
    "/usr/share/man/man8/ip-link.8.gz": "manpages/ip-link.8.txt",
    "/usr/share/man/man8/ip-netns.8.gz": "manpages/ip-netns.8.txt",
    "/usr/share/man/man8/ss.8.gz": "manpages/ss.8.txt",
    "/usr/share/man/man8/tc.8.gz": "manpages/tc.8.txt",
    "/usr/share/man/man8/tc-netem.8.gz": "manpages/tc-netem.8.txt",
    "/usr/share/man/man8/tc-fq_codel.8.gz": "manpages/tc-fq_codel.8.txt",
    "/usr/share/man/man8/bridge.8.gz": "manpages/bridge.8.txt",
    "/usr/share/man/man8/netstat.8.gz": "manpages/netstat.8.txt",
    "/usr/share/man/man8/ifconfig.8.gz": "manpages/ifconfig.8.txt",
    "/usr/share/man/man8/pam_limits.8.gz": "manpages/pam_limits.8.txt",
    "/usr/share/man/man8/pam_unix.8.gz": "manpages/pam_unix.8.txt",
    "/usr/share/man/man8/pam_faillock.8.gz": "manpages/pam_faillock.8.txt",
    "/usr/share/man/man8/pam_access.8.gz": "manpages/pam_access.8.txt",
    "/usr/share/man/man8/polkit.8.gz": "manpages/polkit.8.txt",
    "/usr/share/man/man8/systemd-tmpfiles.8.gz": "manpages/systemd-tmpfiles.8.txt",
    "/usr/share/man/man8/systemd-logind.8.gz": "manpages/systemd-logind.8.txt",
    "/usr/share/man/man8/systemd-timesyncd.8.gz": "manpages/systemd-timesyncd.8.txt",
    "/usr/share/man/man8/ldconfig.8.gz": "manpages/ldconfig.8.txt",
    "/usr/share/man/man8/update-ca-certificates.8.gz": "manpages/update-ca-certificates.8.txt",
    "/usr/share/man/man8/dpkg-reconfigure.8.gz": "manpages/dpkg-reconfigure.8.txt",
    "/usr/share/man/man8/lsof.8.gz": "manpages/lsof.8.txt",
    "/usr/share/doc/git/README.md": "docs/git/README.md",
    "/usr/share/doc/git/contrib/diff-highlight/README": "docs/git/contrib/diff-highlight/README.txt",
    "/usr/share/doc/git/contrib/git-jump/README": "docs/git/contrib/git-jump/README.txt",
    "/usr/share/doc/git/contrib/subtree/git-subtree.txt": "docs/git/contrib/subtree/git-subtree.txt",
    "/usr/share/doc/git/contrib/coccinelle/README": "docs/git/contrib/coccinelle/README.txt",
    "/usr/share/doc/git/contrib/persistent-https/README": "docs/git/contrib/persistent-https/README.txt",
    "/usr/share/doc/git/contrib/contacts/git-contacts.txt": "docs/git/contrib/contacts/git-contacts.txt",
    "/usr/share/doc/git/RelNotes/2.39.0.txt": "docs/git/RelNotes/2.39.0.txt",
    "/usr/share/doc/git/RelNotes/2.38.0.txt": "docs/git/RelNotes/2.38.0.txt",
    "/usr/share/doc/git/RelNotes/2.30.0.txt": "docs/git/RelNotes/2.30.0.txt",
    "/usr/share/doc/nodejs/README.md": "docs/nodejs/README.md",
    "/usr/share/doc/nodejs/BUILDING.md": "docs/nodejs/BUILDING.md",
    "/usr/share/doc/nodejs/GOVERNANCE.md": "docs/nodejs/GOVERNANCE.md",
    "/usr/share/doc/nodejs/CHANGELOG.md": "docs/nodejs/CHANGELOG.md",
    "/usr/share/doc/systemd/CODING_STYLE.md.gz": "docs/systemd/CODING_STYLE.md",
    "/usr/share/doc/systemd/ENVIRONMENT.md.gz": "docs/systemd/ENVIRONMENT.md",
    "/usr/share/doc/systemd/HACKING.md.gz": "docs/systemd/HACKING.md",
    "/usr/share/doc/systemd/TRANSIENT-SETTINGS.md.gz": "docs/systemd/TRANSIENT-SETTINGS.md",
    "/usr/share/doc/systemd/UIDS-GIDS.md.gz": "docs/systemd/UIDS-GIDS.md",
    "/usr/share/doc/systemd/DISTRO_PORTING.md": "docs/systemd/DISTRO_PORTING.md",
    "/usr/share/doc/systemd/README.gz": "docs/systemd/README.txt",
    "/usr/share/doc/systemd/README.Debian.gz": "docs/systemd/README.Debian.txt",
    "/usr/share/doc/systemd/README.logs": "docs/systemd/README.logs.txt",
    "/usr/share/doc/openssl/README.md.gz": "docs/openssl/README.md",
    "/usr/share/doc/openssl/NEWS.md.gz": "docs/openssl/NEWS.md",
    "/usr/share/doc/openssl/README-ENGINES.md.gz": "docs/openssl/README-ENGINES.md",
    "/usr/share/doc/openssl/HOWTO/certificates.txt.gz": "docs/openssl/HOWTO/certificates.txt",
    "/usr/share/doc/openssl/HOWTO/keys.txt": "docs/openssl/HOWTO/keys.txt",
    "/usr/share/doc/openssl/README.Debian": "docs/openssl/README.Debian.txt",
    "/usr/share/doc/python3.11/README.rst.gz": "docs/python3.11/README.rst",
    "/usr/share/doc/python3.11/README.venv": "docs/python3.11/README.venv.txt",
    "/usr/share/doc/python3.11/README.valgrind.gz": "docs/python3.11/README.valgrind.txt",
    "/usr/share/doc/python3.11/README.Debian": "docs/python3.11/README.Debian.txt",
    "/usr/share/doc/python3-lazr.restfulclient/caching.rst.gz": "docs/python3-lazr.restfulclient/caching.rst",
    "/usr/share/doc/python3-lazr.restfulclient/collections.rst.gz": "docs/python3-lazr.restfulclient/collections.rst",
    "/usr/share/doc/python3-lazr.restfulclient/entries.rst.gz": "docs/python3-lazr.restfulclient/entries.rst",
    "/usr/share/doc/python3-lazr.restfulclient/operations.rst.gz": "docs/python3-lazr.restfulclient/operations.rst",
    "/usr/share/doc/python3-setuptools/setuptools.rst.gz": "docs/python3-setuptools/setuptools.rst",
    "/usr/share/doc/python3-setuptools/build_meta.rst.gz": "docs/python3-setuptools/build_meta.rst",
    "/usr/share/doc/python3-jwt/README.rst": "docs/python3-jwt/README.rst",
    "/usr/share/doc/yq/README.rst.gz": "docs/yq/README.rst",
    "/usr/share/doc/yq/cli-doc.txt": "docs/yq/cli-doc.txt",
    "/usr/share/doc/libnghttp2-14/README.rst.gz": "docs/libnghttp2-14/README.rst",
    "/usr/share/doc/libjansson4/README.rst": "docs/libjansson4/README.rst",
    "/usr/share/doc/python3-pip/html/topics/caching.md.gz": "docs/python3-pip/html/topics/caching.md",
    "/usr/share/doc/python3-pip/html/topics/configuration.md.gz": "docs/python3-pip/html/topics/configuration.md",
    "/usr/share/doc/python3-pip/html/topics/dependency-resolution.md.gz": "docs/python3-pip/html/topics/dependency-resolution.md",
    "/usr/share/doc/python3-pip/html/topics/https-certificates.md": "docs/python3-pip/html/topics/https-certificates.md",
    "/usr/share/doc/python3-pip/html/topics/secure-installs.md.gz": "docs/python3-pip/html/topics/secure-installs.md",
    "/usr/share/doc/python3-pip/html/topics/vcs-support.md.gz": "docs/python3-pip/html/topics/vcs-support.md",
    "/usr/share/doc/python3-pip/html/reference/requirements-file-format.md.gz": "docs/python3-pip/html/reference/requirements-file-format.md",
    "/usr/share/doc/python3-pip/html/user_guide.rst.gz": "docs/python3-pip/html/user_guide.rst",
    "/usr/share/doc/x11proto-dev/randrproto.txt.gz": "docs/x11proto-dev/randrproto.txt",
    "/usr/share/doc/x11proto-dev/renderproto.txt.gz": "docs/x11proto-dev/renderproto.txt",
    "/usr/share/doc/x11proto-dev/presentproto.txt.gz": "docs/x11proto-dev/presentproto.txt",
    "/usr/share/doc/zlib1g-dev/README.gz": "docs/zlib1g-dev/README.txt",
    "/usr/share/doc/zlib1g-dev/algorithm.txt.gz": "docs/zlib1g-dev/algorithm.txt",
    "/usr/share/doc/zlib1g-dev/txtvsbin.txt.gz": "docs/zlib1g-dev/txtvsbin.txt",
    "/usr/share/doc/postgresql-common/README.md.gz": "docs/postgresql-common/README.md",
    "/usr/share/doc/postgresql-common/README.Debian.gz": "docs/postgresql-common/README.Debian.txt",
    "/usr/share/doc/postgresql-common/README.systemd": "docs/postgresql-common/README.systemd.txt",
    "/usr/share/doc/polkitd/NEWS.md.gz": "docs/polkitd/NEWS.md",
    "/usr/share/doc/polkitd/README.md": "docs/polkitd/README.md",
    "/usr/share/doc/pkgconf-bin/README.md.gz": "docs/pkgconf-bin/README.md",
    "/usr/share/doc/gnupg/README.gz": "docs/gnupg/README.txt",
    "/usr/share/doc/gnupg/NEWS.gz": "docs/gnupg/NEWS.txt",
    "/usr/share/doc/gdb/README.gz": "docs/gdb/README.txt",
    "/usr/share/doc/strace/NEWS.gz": "docs/strace/NEWS.txt",
    "/usr/share/doc/wget/README": "docs/wget/README.txt",
    "/usr/share/doc/wget/NEWS.gz": "docs/wget/NEWS.txt",
    "/usr/share/doc/tmux/README": "docs/tmux/README.txt",
    "/usr/share/doc/jq/README": "docs/jq/README.txt",
    "/usr/share/doc/libgpg-error-dev/errorref.txt.gz": "docs/libgpg-error-dev/errorref.txt",
    "/usr/share/doc/libcrypt-dev/README.md.gz": "docs/libcrypt-dev/README.md",
    "/usr/share/doc/tcl8.6/README.md.gz": "docs/tcl8.6/README.md",
    "/usr/share/doc/iso-codes/README.md.gz": "docs/iso-codes/README.md",
    "/usr/share/doc/make/README.gz": "docs/make/README.txt",
    "/usr/share/doc/make/NEWS.gz": "docs/make/NEWS.txt",
    "/usr/share/doc/cscope/README": "docs/cscope/README.txt",
    "/usr/share/doc/libxml2/README.md": "docs/libxml2/README.md",
    "/usr/share/doc/libtasn1-6/README.md": "docs/libtasn1-6/README.md",
    "/usr/share/doc/nodejs/api/addons.html": "html/nodejs/api/addons.html",
    "/usr/share/doc/nodejs/api/assert.html": "html/nodejs/api/assert.html",
    "/usr/share/doc/nodejs/api/async_context.html": "html/nodejs/api/async_context.html",
    "/usr/share/doc/nodejs/api/async_hooks.html": "html/nodejs/api/async_hooks.html",
    "/usr/share/doc/nodejs/api/buffer.html": "html/nodejs/api/buffer.html",
    "/usr/share/doc/nodejs/api/child_process.html": "html/nodejs/api/child_process.html",
    "/usr/share/doc/nodejs/api/cli.html": "html/nodejs/api/cli.html",
    "/usr/share/doc/nodejs/api/cluster.html": "html/nodejs/api/cluster.html",
    "/usr/share/doc/nodejs/api/console.html": "html/nodejs/api/console.html",
    "/usr/share/doc/nodejs/api/crypto.html": "html/nodejs/api/crypto.html",
    "/usr/share/doc/nodejs/api/deprecations.html": "html/nodejs/api/deprecations.html",
    "/usr/share/doc/nodejs/api/dgram.html": "html/nodejs/api/dgram.html",
    "/usr/share/doc/nodejs/api/diagnostics_channel.html": "html/nodejs/api/diagnostics_channel.html",
    "/usr/share/doc/nodejs/api/dns.html": "html/nodejs/api/dns.html",
    "/usr/share/doc/nodejs/api/errors.html": "html/nodejs/api/errors.html",
    "/usr/share/doc/nodejs/api/esm.html": "html/nodejs/api/esm.html",
    "/usr/share/doc/nodejs/api/events.html": "html/nodejs/api/events.html",
    "/usr/share/doc/nodejs/api/fs.html": "html/nodejs/api/fs.html",
    "/usr/share/doc/nodejs/api/globals.html": "html/nodejs/api/globals.html",
    "/usr/share/doc/nodejs/api/http.html": "html/nodejs/api/http.html",
    "/usr/share/doc/nodejs/api/http2.html": "html/nodejs/api/http2.html",
    "/usr/share/doc/nodejs/api/https.html": "html/nodejs/api/https.html",
    "/usr/share/doc/nodejs/api/index.html": "html/nodejs/api/index.html",
    "/usr/share/doc/nodejs/api/module.html": "html/nodejs/api/module.html",
    "/usr/share/doc/nodejs/api/modules.html": "html/nodejs/api/modules.html",
    "/usr/share/doc/nodejs/api/n-api.html": "html/nodejs/api/n-api.html",
    "/usr/share/doc/nodejs/api/net.html": "html/nodejs/api/net.html",
    "/usr/share/doc/nodejs/api/os.html": "html/nodejs/api/os.html",
    "/usr/share/doc/nodejs/api/packages.html": "html/nodejs/api/packages.html",
    "/usr/share/doc/nodejs/api/path.html": "html/nodejs/api/path.html",
    "/usr/share/doc/nodejs/api/perf_hooks.html": "html/nodejs/api/perf_hooks.html",
    "/usr/share/doc/nodejs/api/permissions.html": "html/nodejs/api/permissions.html",
    "/usr/share/doc/nodejs/api/process.html": "html/nodejs/api/process.html",
    "/usr/share/doc/nodejs/api/readline.html": "html/nodejs/api/readline.html",
    "/usr/share/doc/nodejs/api/repl.html": "html/nodejs/api/repl.html",
    "/usr/share/doc/nodejs/api/report.html": "html/nodejs/api/report.html",
    "/usr/share/doc/nodejs/api/single-executable-applications.html": "html/nodejs/api/single-executable-applications.html",
    "/usr/share/doc/nodejs/api/stream.html": "html/nodejs/api/stream.html",
    "/usr/share/doc/nodejs/api/test.html": "html/nodejs/api/test.html",
    "/usr/share/doc/nodejs/api/timers.html": "html/nodejs/api/timers.html",
    "/usr/share/doc/nodejs/api/tls.html": "html/nodejs/api/tls.html",
    "/usr/share/doc/nodejs/api/url.html": "html/nodejs/api/url.html",
    "/usr/share/doc/nodejs/api/util.html": "html/nodejs/api/util.html",
    "/usr/share/doc/nodejs/api/v8.html": "html/nodejs/api/v8.html",
    "/usr/share/doc/nodejs/api/vm.html": "html/nodejs/api/vm.html",
    "/usr/share/doc/nodejs/api/webcrypto.html": "html/nodejs/api/webcrypto.html",
    "/usr/share/doc/nodejs/api/webstreams.html": "html/nodejs/api/webstreams.html",
    "/usr/share/doc/nodejs/api/worker_threads.html": "html/nodejs/api/worker_threads.html",
    "/usr/share/doc/nodejs/api/zlib.html": "html/nodejs/api/zlib.html",
    "/usr/share/doc/libxslt1-dev/html/FAQ.html": "html/libxslt1-dev/html/FAQ.html",
    "/usr/share/doc/libxslt1-dev/html/bugs.html": "html/libxslt1-dev/html/bugs.html",
    "/usr/share/doc/libxslt1-dev/html/contribs.html": "html/libxslt1-dev/html/contribs.html",
    "/usr/share/doc/libxslt1-dev/html/docbook.html": "html/libxslt1-dev/html/docbook.html",
    "/usr/share/doc/libxslt1-dev/html/docs.html": "html/libxslt1-dev/html/docs.html",
    "/usr/share/doc/libxslt1-dev/html/downloads.html": "html/libxslt1-dev/html/downloads.html",
    "/usr/share/doc/libxslt1-dev/html/extensions.html": "html/libxslt1-dev/html/extensions.html",
    "/usr/share/doc/libxslt1-dev/html/help.html": "html/libxslt1-dev/html/help.html",
    "/usr/share/doc/libxslt1-dev/html/index.html": "html/libxslt1-dev/html/index.html",
    "/usr/share/doc/libxslt1-dev/html/internals.html": "html/libxslt1-dev/html/internals.html",
    "/usr/share/doc/libxslt1-dev/html/intro.html": "html/libxslt1-dev/html/intro.html",
    "/usr/share/doc/libxslt1-dev/html/news.html": "html/libxslt1-dev/html/news.html",
    "/usr/share/doc/libxslt1-dev/html/python.html": "html/libxslt1-dev/html/python.html",
    "/usr/share/doc/libxslt1-dev/html/xslt.html": "html/libxslt1-dev/html/xslt.html",
    "/usr/share/doc/libxslt1-dev/html/xsltproc.html": "html/libxslt1-dev/html/xsltproc.html",
    "/usr/share/doc/libxslt1-dev/html/xsltproc2.html": "html/libxslt1-dev/html/xsltproc2.html",
    "/usr/share/doc/libxslt1-dev/html/EXSLT/bugs.html": "html/libxslt1-dev/html/EXSLT/bugs.html",
    "/usr/share/doc/libxslt1-dev/html/EXSLT/docs.html": "html/libxslt1-dev/html/EXSLT/docs.html",
    "/usr/share/doc/libxslt1-dev/html/EXSLT/downloads.html": "html/libxslt1-dev/html/EXSLT/downloads.html",
    "/usr/share/doc/libxslt1-dev/html/EXSLT/exslt.html": "html/libxslt1-dev/html/EXSLT/exslt.html",
    "/usr/share/doc/libxslt1-dev/html/EXSLT/help.html": "html/libxslt1-dev/html/EXSLT/help.html",
    "/usr/share/doc/libxslt1-dev/html/EXSLT/index.html": "html/libxslt1-dev/html/EXSLT/index.html",
    "/usr/share/doc/libxslt1-dev/html/EXSLT/intro.html": "html/libxslt1-dev/html/EXSLT/intro.html",
    "/usr/share/doc/libxslt1-dev/html/tutorial/libxslttutorial.html": "html/libxslt1-dev/html/tutorial/libxslttutorial.html",
    "/usr/share/doc/libxslt1-dev/html/tutorial2/libxslt_pipes.html": "html/libxslt1-dev/html/tutorial2/libxslt_pipes.html",
    "/usr/share/doc/ninja-build/manual.html": "html/ninja-build/manual.html",
    "/usr/share/doc/python3/python-policy.html": "html/python3/python-policy.html",
    "/usr/share/doc/zlib1g-dev/examples/zlib_how.html": "html/zlib1g-dev/examples/zlib_how.html",
    "/usr/share/doc/xtrans-dev/xtrans.html": "html/xtrans-dev/xtrans.html",
    "/usr/share/doc/libexpat1-dev/expat.html/reference.html": "html/libexpat1-dev/expat.html/reference.html",
    "/usr/share/doc/gcc-12-base/NEWS.html": "html/gcc-12-base/NEWS.html",
    "/usr/share/doc/libjson-c5/README.html": "html/libjson-c5/README.html",
    "/usr/share/doc/libjs-underscore/index.html": "html/libjs-underscore/index.html",
    "/usr/share/doc/nettle-dev/nettle.html": "html/nettle-dev/nettle.html",
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf": "pdf/libtasn1.pdf",
}

HELDOUT2_FILES: dict[str, str] = {
    "/usr/share/man/man1/cmake.1.gz": "manpages/cmake.1.txt",
    "/usr/share/man/man1/cpack.1.gz": "manpages/cpack.1.txt",
    "/usr/share/man/man1/ctest.1.gz": "manpages/ctest.1.txt",
    "/usr/share/man/man7/cmake-buildsystem.7.gz": "manpages/cmake-buildsystem.7.txt",
    "/usr/share/man/man7/cmake-compile-features.7.gz": "manpages/cmake-compile-features.7.txt",
    "/usr/share/man/man7/cmake-developer.7.gz": "manpages/cmake-developer.7.txt",
    "/usr/share/man/man7/cmake-env-variables.7.gz": "manpages/cmake-env-variables.7.txt",
    "/usr/share/man/man7/cmake-file-api.7.gz": "manpages/cmake-file-api.7.txt",
    "/usr/share/man/man7/cmake-generator-expressions.7.gz": "manpages/cmake-generator-expressions.7.txt",
    "/usr/share/man/man7/cmake-generators.7.gz": "manpages/cmake-generators.7.txt",
    "/usr/share/man/man7/cmake-language.7.gz": "manpages/cmake-language.7.txt",
    "/usr/share/man/man7/cmake-packages.7.gz": "manpages/cmake-packages.7.txt",
    "/usr/share/man/man7/cmake-presets.7.gz": "manpages/cmake-presets.7.txt",
    "/usr/share/man/man7/cmake-qt.7.gz": "manpages/cmake-qt.7.txt",
    "/usr/share/man/man7/cmake-toolchains.7.gz": "manpages/cmake-toolchains.7.txt",
    "/usr/share/man/man7/cpack-generators.7.gz": "manpages/cpack-generators.7.txt",
    "/usr/share/man/man1/perf.1.gz": "manpages/perf.1.txt",
    "/usr/share/man/man1/perf-annotate.1.gz": "manpages/perf-annotate.1.txt",
    "/usr/share/man/man1/perf-bench.1.gz": "manpages/perf-bench.1.txt",
    "/usr/share/man/man1/perf-c2c.1.gz": "manpages/perf-c2c.1.txt",
    "/usr/share/man/man1/perf-config.1.gz": "manpages/perf-config.1.txt",
    "/usr/share/man/man1/perf-diff.1.gz": "manpages/perf-diff.1.txt",
    "/usr/share/man/man1/perf-ftrace.1.gz": "manpages/perf-ftrace.1.txt",
    "/usr/share/man/man1/perf-intel-pt.1.gz": "manpages/perf-intel-pt.1.txt",
    "/usr/share/man/man1/perf-kmem.1.gz": "manpages/perf-kmem.1.txt",
    "/usr/share/man/man1/perf-list.1.gz": "manpages/perf-list.1.txt",
    "/usr/share/man/man1/perf-lock.1.gz": "manpages/perf-lock.1.txt",
    "/usr/share/man/man1/perf-mem.1.gz": "manpages/perf-mem.1.txt",
    "/usr/share/man/man1/perf-probe.1.gz": "manpages/perf-probe.1.txt",
    "/usr/share/man/man1/perf-record.1.gz": "manpages/perf-record.1.txt",
    "/usr/share/man/man1/perf-report.1.gz": "manpages/perf-report.1.txt",
    "/usr/share/man/man1/perf-sched.1.gz": "manpages/perf-sched.1.txt",
    "/usr/share/man/man1/perf-script.1.gz": "manpages/perf-script.1.txt",
    "/usr/share/man/man1/perf-stat.1.gz": "manpages/perf-stat.1.txt",
    "/usr/share/man/man1/perf-top.1.gz": "manpages/perf-top.1.txt",
    "/usr/share/man/man1/perf-trace.1.gz": "manpages/perf-trace.1.txt",
    "/usr/share/man/man1/FileCheck-14.1.gz": "manpages/FileCheck-14.1.txt",
    "/usr/share/man/man1/lit-14.1.gz": "manpages/lit-14.1.txt",
    "/usr/share/man/man1/llc-14.1.gz": "manpages/llc-14.1.txt",
    "/usr/share/man/man1/llvm-ar-14.1.gz": "manpages/llvm-ar-14.1.txt",
    "/usr/share/man/man1/llvm-config-14.1.gz": "manpages/llvm-config-14.1.txt",
    "/usr/share/man/man1/llvm-cov-14.1.gz": "manpages/llvm-cov-14.1.txt",
    "/usr/share/man/man1/llvm-cxxfilt-14.1.gz": "manpages/llvm-cxxfilt-14.1.txt",
    "/usr/share/man/man1/llvm-dwarfdump-14.1.gz": "manpages/llvm-dwarfdump-14.1.txt",
    "/usr/share/man/man1/llvm-link-14.1.gz": "manpages/llvm-link-14.1.txt",
    "/usr/share/man/man1/llvm-mca-14.1.gz": "manpages/llvm-mca-14.1.txt",
    "/usr/share/man/man1/llvm-nm-14.1.gz": "manpages/llvm-nm-14.1.txt",
    "/usr/share/man/man1/llvm-objcopy-14.1.gz": "manpages/llvm-objcopy-14.1.txt",
    "/usr/share/man/man1/llvm-objdump-14.1.gz": "manpages/llvm-objdump-14.1.txt",
    "/usr/share/man/man1/llvm-profdata-14.1.gz": "manpages/llvm-profdata-14.1.txt",
    "/usr/share/man/man1/llvm-readobj-14.1.gz": "manpages/llvm-readobj-14.1.txt",
    "/usr/share/man/man1/llvm-symbolizer-14.1.gz": "manpages/llvm-symbolizer-14.1.txt",
    "/usr/share/man/man1/ctags-universal.1.gz": "manpages/ctags-universal.1.txt",
    "/usr/share/man/man1/readtags.1.gz": "manpages/readtags.1.txt",
    "/usr/share/man/man5/tags.5.gz": "manpages/tags.5.txt",
    "/usr/share/man/man7/ctags-optlib.7.gz": "manpages/ctags-optlib.7.txt",
    "/usr/share/man/man7/ctags-universal-client-tools.7.gz": "manpages/ctags-universal-client-tools.7.txt",
    "/usr/share/man/man7/ctags-universal-faq.7.gz": "manpages/ctags-universal-faq.7.txt",
    "/usr/share/man/man7/ctags-universal-incompatibilities.7.gz": "manpages/ctags-universal-incompatibilities.7.txt",
    "/usr/share/man/man7/ctags-universal-lang-python.7.gz": "manpages/ctags-universal-lang-python.7.txt",
    "/usr/share/man/man7/ctags-universal-optlib.7.gz": "manpages/ctags-universal-optlib.7.txt",
    "/usr/share/man/man1/lz4.1.gz": "manpages/lz4.1.txt",
    "/usr/share/man/man1/groff.1.gz": "manpages/groff.1.txt",
    "/usr/share/man/man1/nroff.1.gz": "manpages/nroff.1.txt",
    "/usr/share/man/man1/troff.1.gz": "manpages/troff.1.txt",
    "/usr/share/man/man1/grotty.1.gz": "manpages/grotty.1.txt",
    "/usr/share/man/man1/grops.1.gz": "manpages/grops.1.txt",
    "/usr/share/man/man1/tbl.1.gz": "manpages/tbl.1.txt",
    "/usr/share/man/man1/eqn.1.gz": "manpages/eqn.1.txt",
    "/usr/share/man/man1/preconv.1.gz": "manpages/preconv.1.txt",
    "/usr/share/man/man1/xrandr.1.gz": "manpages/xrandr.1.txt",
    "/usr/share/man/man1/xset.1.gz": "manpages/xset.1.txt",
    "/usr/share/man/man1/xmodmap.1.gz": "manpages/xmodmap.1.txt",
    "/usr/share/man/man1/xhost.1.gz": "manpages/xhost.1.txt",
    "/usr/share/man/man1/xrdb.1.gz": "manpages/xrdb.1.txt",
    "/usr/share/man/man1/xsetroot.1.gz": "manpages/xsetroot.1.txt",
    "/usr/share/man/man1/xgamma.1.gz": "manpages/xgamma.1.txt",
    "/usr/share/man/man1/xrefresh.1.gz": "manpages/xrefresh.1.txt",
    "/usr/share/man/man1/xauth.1.gz": "manpages/xauth.1.txt",
    "/usr/share/man/man1/xdg-open.1.gz": "manpages/xdg-open.1.txt",
    "/usr/share/man/man1/xdg-mime.1.gz": "manpages/xdg-mime.1.txt",
    "/usr/share/man/man1/xdg-settings.1.gz": "manpages/xdg-settings.1.txt",
    "/usr/share/man/man1/xdg-email.1.gz": "manpages/xdg-email.1.txt",
    "/usr/share/man/man1/xdg-screensaver.1.gz": "manpages/xdg-screensaver.1.txt",
    "/usr/share/man/man1/xdg-desktop-menu.1.gz": "manpages/xdg-desktop-menu.1.txt",
    "/usr/share/man/man1/xdg-icon-resource.1.gz": "manpages/xdg-icon-resource.1.txt",
    "/usr/share/man/man1/xdg-desktop-icon.1.gz": "manpages/xdg-desktop-icon.1.txt",
    "/usr/share/man/man1/xdg-user-dir.1.gz": "manpages/xdg-user-dir.1.txt",
    "/usr/share/man/man1/xdg-user-dirs-update.1.gz": "manpages/xdg-user-dirs-update.1.txt",
    "/usr/share/man/man5/user-dirs.dirs.5.gz": "manpages/user-dirs.dirs.5.txt",
    "/usr/share/man/man5/user-dirs.conf.5.gz": "manpages/user-dirs.conf.5.txt",
    "/usr/share/man/man5/user-dirs.defaults.5.gz": "manpages/user-dirs.defaults.5.txt",
    "/usr/share/man/man1/ischroot.1.gz": "manpages/ischroot.1.txt",
    "/usr/share/man/man1/tempfile.1.gz": "manpages/tempfile.1.txt",
    "/usr/share/man/man8/run-parts.8.gz": "manpages/run-parts.8.txt",
    "/usr/share/man/man8/savelog.8.gz": "manpages/savelog.8.txt",
    "/usr/share/man/man8/add-shell.8.gz": "manpages/add-shell.8.txt",
    "/usr/share/man/man8/installkernel.8.gz": "manpages/installkernel.8.txt",
    "/usr/share/man/man1/fakeroot-sysv.1.gz": "manpages/fakeroot-sysv.1.txt",
    "/usr/share/man/man1/faked-sysv.1.gz": "manpages/faked-sysv.1.txt",
    "/usr/share/man/man1/dash.1.gz": "manpages/dash.1.txt",
    "/usr/share/man/man1/hostname.1.gz": "manpages/hostname.1.txt",
    "/usr/share/man/man1/lsb_release.1.gz": "manpages/lsb_release.1.txt",
    "/usr/share/man/man1/avahi-browse.1.gz": "manpages/avahi-browse.1.txt",
    "/usr/share/man/man1/avahi-publish.1.gz": "manpages/avahi-publish.1.txt",
    "/usr/share/man/man1/avahi-resolve.1.gz": "manpages/avahi-resolve.1.txt",
    "/usr/share/man/man1/avahi-set-host-name.1.gz": "manpages/avahi-set-host-name.1.txt",
    "/usr/share/man/man5/avahi-daemon.conf.5.gz": "manpages/avahi-daemon.conf.5.txt",
    "/usr/share/man/man5/avahi.service.5.gz": "manpages/avahi.service.5.txt",
    "/usr/share/man/man5/avahi.hosts.5.gz": "manpages/avahi.hosts.5.txt",
    "/usr/share/man/man8/avahi-daemon.8.gz": "manpages/avahi-daemon.8.txt",
    "/usr/share/man/man1/upower.1.gz": "manpages/upower.1.txt",
    "/usr/share/man/man8/upowerd.8.gz": "manpages/upowerd.8.txt",
    "/usr/share/man/man7/UPower.7.gz": "manpages/UPower.7.txt",
    "/usr/share/man/man1/pkcon.1.gz": "manpages/pkcon.1.txt",
    "/usr/share/man/man1/pkmon.1.gz": "manpages/pkmon.1.txt",
    "/usr/share/man/man1/appstreamcli.1.gz": "manpages/appstreamcli.1.txt",
    "/usr/share/man/man1/pygmentize.1.gz": "manpages/pygmentize.1.txt",
    "/usr/share/man/man5/locale.gen.5.gz": "manpages/locale.gen.5.txt",
    "/usr/share/man/man8/locale-gen.8.gz": "manpages/locale-gen.8.txt",
    "/usr/share/man/man8/update-locale.8.gz": "manpages/update-locale.8.txt",
    "/usr/share/man/man8/validlocale.8.gz": "manpages/validlocale.8.txt",
    "/usr/share/man/man8/dmsetup.8.gz": "manpages/dmsetup.8.txt",
    "/usr/share/man/man8/dmstats.8.gz": "manpages/dmstats.8.txt",
    "/usr/share/man/man8/blkdeactivate.8.gz": "manpages/blkdeactivate.8.txt",
    "/usr/share/man/man1/ucf.1.gz": "manpages/ucf.1.txt",
    "/usr/share/man/man1/ucfr.1.gz": "manpages/ucfr.1.txt",
    "/usr/share/man/man1/ucfq.1.gz": "manpages/ucfq.1.txt",
    "/usr/share/man/man1/lcf.1.gz": "manpages/lcf.1.txt",
    "/usr/share/man/man5/ucf.conf.5.gz": "manpages/ucf.conf.5.txt",
    "/usr/share/man/man1/sensible-editor.1.gz": "manpages/sensible-editor.1.txt",
    "/usr/share/man/man1/select-editor.1.gz": "manpages/select-editor.1.txt",
    "/usr/share/man/man1/sensible-browser.1.gz": "manpages/sensible-browser.1.txt",
    "/usr/share/man/man1/uconv.1.gz": "manpages/uconv.1.txt",
    "/usr/share/man/man1/genrb.1.gz": "manpages/genrb.1.txt",
    "/usr/share/man/man8/icupkg.8.gz": "manpages/icupkg.8.txt",
    "/usr/share/man/man1/vim.1.gz": "manpages/vim.1.txt",
    "/usr/share/man/man1/vimdiff.1.gz": "manpages/vimdiff.1.txt",
    "/usr/share/man/man1/vimtutor.1.gz": "manpages/vimtutor.1.txt",
    "/usr/share/man/man1/chromium.1.gz": "manpages/chromium.1.txt",
    "/usr/share/man/man1/zutty.1.gz": "manpages/zutty.1.txt",
    "/usr/share/man/man5/init-d-script.5.gz": "manpages/init-d-script.5.txt",
    "/usr/share/man/man8/killall5.8.gz": "manpages/killall5.8.txt",
    "/usr/share/man/man8/pidof.8.gz": "manpages/pidof.8.txt",
    "/usr/share/man/man8/fstab-decode.8.gz": "manpages/fstab-decode.8.txt",
    "/usr/share/man/man1/wish8.6.1.gz": "manpages/wish8.6.1.txt",
    "/usr/share/man/man1/rpcgen.1.gz": "manpages/rpcgen.1.txt",
    "/usr/share/man/man8/update-xmlcatalog.8.gz": "manpages/update-xmlcatalog.8.txt",
    "/usr/share/man/man8/update-catalog.8.gz": "manpages/update-catalog.8.txt",
    "/usr/share/man/man8/install-sgmlcatalog.8.gz": "manpages/install-sgmlcatalog.8.txt",
    "/usr/share/man/man8/make-ssl-cert.8.gz": "manpages/make-ssl-cert.8.txt",
    "/usr/share/man/man1/gdk-pixbuf-csource.1.gz": "manpages/gdk-pixbuf-csource.1.txt",
    "/usr/share/man/man1/gdk-pixbuf-query-loaders.1.gz": "manpages/gdk-pixbuf-query-loaders.1.txt",
    "/usr/share/man/man1/gtk-launch.1.gz": "manpages/gtk-launch.1.txt",
    "/usr/share/man/man1/gtk-builder-tool.1.gz": "manpages/gtk-builder-tool.1.txt",
    "/usr/share/man/man1/gtk-update-icon-cache.1.gz": "manpages/gtk-update-icon-cache.1.txt",
    "/usr/share/man/man1/heaptrack.1.gz": "manpages/heaptrack.1.txt",
    "/usr/share/man/man1/heaptrack_print.1.gz": "manpages/heaptrack_print.1.txt",
    "/usr/share/man/man1/add-apt-repository.1.gz": "manpages/add-apt-repository.1.txt",
    "/usr/share/man/man1/java.1.gz": "manpages/java.1.txt",
    "/usr/share/man/man1/javac.1.gz": "manpages/javac.1.txt",
    "/usr/share/man/man1/jar.1.gz": "manpages/jar.1.txt",
    "/usr/share/man/man1/jarsigner.1.gz": "manpages/jarsigner.1.txt",
    "/usr/share/man/man1/keytool.1.gz": "manpages/keytool.1.txt",
    "/usr/share/man/man1/jshell.1.gz": "manpages/jshell.1.txt",
    "/usr/share/man/man1/jcmd.1.gz": "manpages/jcmd.1.txt",
    "/usr/share/man/man1/jstat.1.gz": "manpages/jstat.1.txt",
    "/usr/share/man/man1/jstack.1.gz": "manpages/jstack.1.txt",
    "/usr/share/man/man1/jdb.1.gz": "manpages/jdb.1.txt",
    "/usr/share/man/man1/jlink.1.gz": "manpages/jlink.1.txt",
    "/usr/share/man/man1/jpackage.1.gz": "manpages/jpackage.1.txt",
    "/usr/share/man/man1/gcloud.1.gz": "manpages/gcloud.1.txt",
    "/usr/share/man/man1/gcloud_init.1.gz": "manpages/gcloud_init.1.txt",
    "/usr/share/man/man1/gcloud_auth_login.1.gz": "manpages/gcloud_auth_login.1.txt",
    "/usr/share/man/man1/gcloud_config_set.1.gz": "manpages/gcloud_config_set.1.txt",
    "/usr/share/man/man1/gcloud_components_update.1.gz": "manpages/gcloud_components_update.1.txt",
    "/usr/share/man/man1/gcloud_compute_instances_create.1.gz": "manpages/gcloud_compute_instances_create.1.txt",
    "/usr/share/man/man1/gcloud_compute_ssh.1.gz": "manpages/gcloud_compute_ssh.1.txt",
    "/usr/share/man/man1/gcloud_storage_cp.1.gz": "manpages/gcloud_storage_cp.1.txt",
    "/usr/share/man/man1/gcloud_storage_rsync.1.gz": "manpages/gcloud_storage_rsync.1.txt",
    "/usr/share/man/man1/gcloud_run_deploy.1.gz": "manpages/gcloud_run_deploy.1.txt",
    "/usr/share/man/man1/gcloud_functions_deploy.1.gz": "manpages/gcloud_functions_deploy.1.txt",
    "/usr/share/man/man1/gcloud_projects_create.1.gz": "manpages/gcloud_projects_create.1.txt",
    "/usr/share/man/man1/gcloud_topic_filters.1.gz": "manpages/gcloud_topic_filters.1.txt",
    "/usr/share/man/man1/gcloud_topic_formats.1.gz": "manpages/gcloud_topic_formats.1.txt",
    "/usr/share/man/man1/gcloud_topic_configurations.1.gz": "manpages/gcloud_topic_configurations.1.txt",
    "/usr/share/man/man1/gcloud_topic_flags-file.1.gz": "manpages/gcloud_topic_flags-file.1.txt",
    "/usr/share/man/man1/gcloud_topic_datetimes.1.gz": "manpages/gcloud_topic_datetimes.1.txt",
    "/usr/share/man/man1/gcloud_topic_gcloudignore.1.gz": "manpages/gcloud_topic_gcloudignore.1.txt",
    "/usr/share/man/man1/capsh.1.gz": "manpages/capsh.1.txt",
    "/usr/share/man/man8/setcap.8.gz": "manpages/setcap.8.txt",
    "/usr/share/man/man8/getcap.8.gz": "manpages/getcap.8.txt",
    "/usr/share/man/man8/getpcaps.8.gz": "manpages/getpcaps.8.txt",
    "/usr/share/man/man8/captree.8.gz": "manpages/captree.8.txt",
    "/usr/share/man/man1/hmac256.1.gz": "manpages/hmac256.1.txt",
    "/usr/share/man/man1/dumpsexp.1.gz": "manpages/dumpsexp.1.txt",
    "/usr/share/man/man1/pinentry-curses.1.gz": "manpages/pinentry-curses.1.txt",
    "/usr/share/man/man1/register-python-argcomplete.1.gz": "manpages/register-python-argcomplete.1.txt",
    "/usr/share/doc/groff-base/README.gz": "docs/groff-base/README.txt",
    "/usr/share/doc/groff-base/NEWS.gz": "docs/groff-base/NEWS.txt",
    "/usr/share/doc/groff-base/PROBLEMS.gz": "docs/groff-base/PROBLEMS.txt",
    "/usr/share/doc/groff-base/MORE.STUFF.gz": "docs/groff-base/MORE.STUFF.txt",
    "/usr/share/doc/groff-base/BUG-REPORT": "docs/groff-base/BUG-REPORT.txt",
    "/usr/share/doc/groff-base/README.Debian": "docs/groff-base/README.Debian.txt",
    "/usr/share/doc/avahi-daemon/README": "docs/avahi-daemon/README.txt",
    "/usr/share/doc/avahi-daemon/NEWS.gz": "docs/avahi-daemon/NEWS.txt",
    "/usr/share/doc/chromium/README.Debian": "docs/chromium/README.Debian.txt",
    "/usr/share/doc/chromium/NEWS.Debian.gz": "docs/chromium/NEWS.Debian.txt",
    "/usr/share/doc/chromium/TODO.Debian": "docs/chromium/TODO.Debian.txt",
    "/usr/share/doc/dash/README.source": "docs/dash/README.source.txt",
    "/usr/share/doc/dash/changelog.gz": "docs/dash/changelog.txt",
    "/usr/share/doc/debianutils/README.shells.gz": "docs/debianutils/README.shells.txt",
    "/usr/share/doc/debianutils/changelog.Debian.gz": "docs/debianutils/changelog.Debian.txt",
    "/usr/share/doc/fakeroot/README": "docs/fakeroot/README.txt",
    "/usr/share/doc/fakeroot/DEBUG": "docs/fakeroot/DEBUG.txt",
    "/usr/share/doc/fakeroot/README.saving": "docs/fakeroot/README.saving.txt",
    "/usr/share/doc/libgmp-dev/README": "docs/libgmp-dev/README.txt",
    "/usr/share/doc/libgmp-dev/NEWS.gz": "docs/libgmp-dev/NEWS.txt",
    "/usr/share/doc/libsodium23/README.markdown": "docs/libsodium23/README.md",
    "/usr/share/doc/libsodium23/changelog.gz": "docs/libsodium23/changelog.txt",
    "/usr/share/doc/libssh2-1/RELEASE-NOTES": "docs/libssh2-1/RELEASE-NOTES.txt",
    "/usr/share/doc/libxmlsec1-dev/README.md": "docs/libxmlsec1-dev/README.md",
    "/usr/share/doc/libxmlsec1-dev/README.Debian": "docs/libxmlsec1-dev/README.Debian.txt",
    "/usr/share/doc/linux-perf/tips.txt": "docs/linux-perf/tips.txt",
    "/usr/share/doc/locales/README.Debian": "docs/locales/README.Debian.txt",
    "/usr/share/doc/locales/NEWS.Debian.gz": "docs/locales/NEWS.Debian.txt",
    "/usr/share/doc/openjdk-17-jre-headless/README.Debian": "docs/openjdk-17-jre-headless/README.Debian.txt",
    "/usr/share/doc/openjdk-17-jre-headless/README.alternatives": "docs/openjdk-17-jre-headless/README.alternatives.txt",
    "/usr/share/doc/openjdk-17-jre-headless/JAVA_HOME": "docs/openjdk-17-jre-headless/JAVA_HOME.txt",
    "/usr/share/doc/packagekit/README.Debian": "docs/packagekit/README.Debian.txt",
    "/usr/share/doc/pinentry-curses/NEWS.gz": "docs/pinentry-curses/NEWS.txt",
    "/usr/share/doc/pinentry-curses/README.Debian": "docs/pinentry-curses/README.Debian.txt",
    "/usr/share/doc/python3-dbus/README": "docs/python3-dbus/README.txt",
    "/usr/share/doc/python3-dbus/NEWS.gz": "docs/python3-dbus/NEWS.txt",
    "/usr/share/doc/python3-httplib2/README.md": "docs/python3-httplib2/README.md",
    "/usr/share/doc/python3-oauthlib/README.rst.gz": "docs/python3-oauthlib/README.rst",
    "/usr/share/doc/python3-yaml/README.md": "docs/python3-yaml/README.md",
    "/usr/share/doc/tk8.6/README.md": "docs/tk8.6/README.md",
    "/usr/share/doc/tzdata/README.Debian": "docs/tzdata/README.Debian.txt",
    "/usr/share/doc/upower/NEWS.gz": "docs/upower/NEWS.txt",
    "/usr/share/doc/vim-common/README.Debian": "docs/vim-common/README.Debian.txt",
    "/usr/share/doc/xdg-utils/README": "docs/xdg-utils/README.txt",
    "/usr/share/doc/xdg-utils/NEWS.gz": "docs/xdg-utils/NEWS.txt",
    "/usr/share/doc/libsasl2-2/README.Debian": "docs/libsasl2-2/README.Debian.txt",
    "/usr/share/doc/libarchive13/NEWS.gz": "docs/libarchive13/NEWS.txt",
    "/usr/share/doc/libuv1/changelog.gz": "docs/libuv1/changelog.txt",
    "/usr/share/doc/libevent-2.1-7/changelog.gz": "docs/libevent-2.1-7/changelog.txt",
    "/usr/share/doc/xauth/changelog.gz": "docs/xauth/changelog.txt",
    "/usr/share/doc/x11-xserver-utils/changelog.gz": "docs/x11-xserver-utils/changelog.txt",
    "/usr/share/vim/vim90/doc/undo.txt": "docs/vim-runtime/doc/undo.txt",
    "/usr/share/vim/vim90/doc/fold.txt": "docs/vim-runtime/doc/fold.txt",
    "/usr/share/vim/vim90/doc/recover.txt": "docs/vim-runtime/doc/recover.txt",
    "/usr/share/vim/vim90/doc/spell.txt": "docs/vim-runtime/doc/spell.txt",
    "/usr/share/vim/vim90/doc/diff.txt": "docs/vim-runtime/doc/diff.txt",
    "/usr/share/vim/vim90/doc/tabpage.txt": "docs/vim-runtime/doc/tabpage.txt",
    "/usr/share/vim/vim90/doc/usr_05.txt": "docs/vim-runtime/doc/usr_05.txt",
    "/usr/share/vim/vim90/doc/usr_10.txt": "docs/vim-runtime/doc/usr_10.txt",
    "/usr/share/vim/vim90/doc/usr_21.txt": "docs/vim-runtime/doc/usr_21.txt",
    "/usr/share/vim/vim90/doc/usr_32.txt": "docs/vim-runtime/doc/usr_32.txt",
    "/usr/share/vim/vim90/doc/pattern.txt": "docs/vim-runtime/doc/pattern.txt",
    "/usr/share/vim/vim90/doc/windows.txt": "docs/vim-runtime/doc/windows.txt",
    "/usr/share/vim/vim90/doc/terminal.txt": "docs/vim-runtime/doc/terminal.txt",
    "/usr/share/vim/vim90/doc/tips.txt": "docs/vim-runtime/doc/tips.txt",
    "/usr/share/vim/vim90/doc/starting.txt": "docs/vim-runtime/doc/starting.txt",
    "/usr/share/vim/vim90/doc/quickfix.txt": "docs/vim-runtime/doc/quickfix.txt",
    "/usr/share/developers-reference/index.html": "html/developers-reference/index.html",
    "/usr/share/developers-reference/scope.html": "html/developers-reference/scope.html",
    "/usr/share/developers-reference/new-maintainer.html": "html/developers-reference/new-maintainer.html",
    "/usr/share/developers-reference/developer-duties.html": "html/developers-reference/developer-duties.html",
    "/usr/share/developers-reference/resources.html": "html/developers-reference/resources.html",
    "/usr/share/developers-reference/pkgs.html": "html/developers-reference/pkgs.html",
    "/usr/share/developers-reference/best-pkging-practices.html": "html/developers-reference/best-pkging-practices.html",
    "/usr/share/developers-reference/beyond-pkging.html": "html/developers-reference/beyond-pkging.html",
    "/usr/share/developers-reference/l10n.html": "html/developers-reference/l10n.html",
    "/usr/share/developers-reference/tools.html": "html/developers-reference/tools.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/index.html": "html/httplib2/ref/index.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/about.html": "html/httplib2/ref/about.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/contents.html": "html/httplib2/ref/contents.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/module-httplib2.html": "html/httplib2/ref/module-httplib2.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/http-objects.html": "html/httplib2/ref/http-objects.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/cache-objects.html": "html/httplib2/ref/cache-objects.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/response-objects.html": "html/httplib2/ref/response-objects.html",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/httplib2/ref/httplib2-example.html": "html/httplib2/ref/httplib2-example.html",
    "/usr/share/doc/debian-refcard/index.html": "html/debian-refcard/index.html",
    "/usr/share/doc/debian-refcard/refcard-en-a4.pdf.gz": "pdf/refcard-en-a4.pdf",
}

HELDOUT3_FILES: dict[str, str] = {
    "/usr/share/man/man1/gawk.1.gz": "manpages/gawk.1.txt",
    "/usr/share/man/man1/nano.1.gz": "manpages/nano.1.txt",
    "/usr/share/man/man5/nanorc.5.gz": "manpages/nanorc.5.txt",
    "/usr/share/man/man5/hgrc.5.gz": "manpages/hgrc.5.txt",
    "/usr/share/man/man5/hgignore.5.gz": "manpages/hgignore.5.txt",
    "/usr/share/man/man5/svnserve.conf.5.gz": "manpages/svnserve.conf.5.txt",
    "/usr/share/man/man8/svnserve.8.gz": "manpages/svnserve.8.txt",
    "/usr/share/man/man1/ci.1.gz": "manpages/ci.1.txt",
    "/usr/share/man/man1/co.1.gz": "manpages/co.1.txt",
    "/usr/share/man/man1/ident.1.gz": "manpages/ident.1.txt",
    "/usr/share/man/man1/merge.1.gz": "manpages/merge.1.txt",
    "/usr/share/man/man1/rcs.1.gz": "manpages/rcs.1.txt",
    "/usr/share/man/man1/rcsclean.1.gz": "manpages/rcsclean.1.txt",
    "/usr/share/man/man1/rcsdiff.1.gz": "manpages/rcsdiff.1.txt",
    "/usr/share/man/man1/rcsmerge.1.gz": "manpages/rcsmerge.1.txt",
    "/usr/share/man/man1/rlog.1.gz": "manpages/rlog.1.txt",
    "/usr/share/man/man5/rcsfile.5.gz": "manpages/rcsfile.5.txt",
    "/usr/share/man/man1/quilt.1.gz": "manpages/quilt.1.txt",
    "/usr/share/man/man1/guards.1.gz": "manpages/guards.1.txt",
    "/usr/share/man/man1/meson.1.gz": "manpages/meson.1.txt",
    "/usr/share/man/man1/ccache.1.gz": "manpages/ccache.1.txt",
    "/usr/share/man/man1/ab.1.gz": "manpages/ab.1.txt",
    "/usr/share/man/man1/htpasswd.1.gz": "manpages/htpasswd.1.txt",
    "/usr/share/man/man1/htdbm.1.gz": "manpages/htdbm.1.txt",
    "/usr/share/man/man8/htcacheclean.8.gz": "manpages/htcacheclean.8.txt",
    "/usr/share/man/man8/rotatelogs.8.gz": "manpages/rotatelogs.8.txt",
    "/usr/share/man/man1/haproxy.1.gz": "manpages/haproxy.1.txt",
    "/usr/share/man/man1/memcached.1.gz": "manpages/memcached.1.txt",
    "/usr/share/man/man1/rsync.1.gz": "manpages/rsync.1.txt",
    "/usr/share/man/man5/rsyncd.conf.5.gz": "manpages/rsyncd.conf.5.txt",
    "/usr/share/man/man1/rrsync.1.gz": "manpages/rrsync.1.txt",
    "/usr/share/man/man1/socat.1.gz": "manpages/socat.1.txt",
    "/usr/share/man/man1/nc_openbsd.1.gz": "manpages/nc_openbsd.1.txt",
    "/usr/share/man/man1/nmap.1.gz": "manpages/nmap.1.txt",
    "/usr/share/man/man1/nping.1.gz": "manpages/nping.1.txt",
    "/usr/share/man/man8/tcpdump.8.gz": "manpages/tcpdump.8.txt",
    "/usr/share/man/man1/dig.1.gz": "manpages/dig.1.txt",
    "/usr/share/man/man1/delv.1.gz": "manpages/delv.1.txt",
    "/usr/share/man/man1/nslookup.1.gz": "manpages/nslookup.1.txt",
    "/usr/share/man/man1/nsupdate.1.gz": "manpages/nsupdate.1.txt",
    "/usr/share/man/man1/mdig.1.gz": "manpages/mdig.1.txt",
    "/usr/share/man/man1/traceroute.db.1.gz": "manpages/traceroute.1.txt",
    "/usr/share/man/man8/mtr.8.gz": "manpages/mtr.8.txt",
    "/usr/share/man/man8/mtr-packet.8.gz": "manpages/mtr-packet.8.txt",
    "/usr/share/man/man8/ethtool.8.gz": "manpages/ethtool.8.txt",
    "/usr/share/man/man1/whois.1.gz": "manpages/whois.1.txt",
    "/usr/share/man/man1/mkpasswd.1.gz": "manpages/mkpasswd.1.txt",
    "/usr/share/man/man8/wg.8.gz": "manpages/wg.8.txt",
    "/usr/share/man/man8/wg-quick.8.gz": "manpages/wg-quick.8.txt",
    "/usr/share/man/man8/nft.8.gz": "manpages/nft.8.txt",
    "/usr/share/man/man8/dnsmasq.8.gz": "manpages/dnsmasq.8.txt",
    "/usr/share/man/man1/lftp.1.gz": "manpages/lftp.1.txt",
    "/usr/share/man/man1/aria2c.1.gz": "manpages/aria2c.1.txt",
    "/usr/share/man/man1/7zr.1.gz": "manpages/7zr.1.txt",
    "/usr/share/man/man1/lzip.lzip.1.gz": "manpages/lzip.1.txt",
    "/usr/share/man/man1/lzop.1.gz": "manpages/lzop.1.txt",
    "/usr/share/man/man1/pigz.1.gz": "manpages/pigz.1.txt",
    "/usr/share/man/man1/brotli.1.gz": "manpages/brotli.1.txt",
    "/usr/share/man/man1/cabextract.1.gz": "manpages/cabextract.1.txt",
    "/usr/share/man/man1/sox.1.gz": "manpages/sox.1.txt",
    "/usr/share/man/man1/soxi.1.gz": "manpages/soxi.1.txt",
    "/usr/share/man/man7/soxformat.7.gz": "manpages/soxformat.7.txt",
    "/usr/share/man/man1/flac.1.gz": "manpages/flac.1.txt",
    "/usr/share/man/man1/metaflac.1.gz": "manpages/metaflac.1.txt",
    "/usr/share/man/man1/oggenc.1.gz": "manpages/oggenc.1.txt",
    "/usr/share/man/man1/ogg123.1.gz": "manpages/ogg123.1.txt",
    "/usr/share/man/man1/vorbiscomment.1.gz": "manpages/vorbiscomment.1.txt",
    "/usr/share/man/man1/lame.1.gz": "manpages/lame.1.txt",
    "/usr/share/man/man1/gifsicle.1.gz": "manpages/gifsicle.1.txt",
    "/usr/share/man/man1/gifview.1.gz": "manpages/gifview.1.txt",
    "/usr/share/man/man1/optipng.1.gz": "manpages/optipng.1.txt",
    "/usr/share/man/man1/cwebp.1.gz": "manpages/cwebp.1.txt",
    "/usr/share/man/man1/dwebp.1.gz": "manpages/dwebp.1.txt",
    "/usr/share/man/man1/gif2webp.1.gz": "manpages/gif2webp.1.txt",
    "/usr/share/man/man1/img2webp.1.gz": "manpages/img2webp.1.txt",
    "/usr/share/man/man1/webpmux.1.gz": "manpages/webpmux.1.txt",
    "/usr/share/man/man1/mutt.1.gz": "manpages/mutt.1.txt",
    "/usr/share/man/man5/muttrc.5.gz": "manpages/muttrc.5.txt",
    "/usr/share/man/man5/mbox.5.gz": "manpages/mbox.5.txt",
    "/usr/share/man/man1/fetchmail.1.gz": "manpages/fetchmail.1.txt",
    "/usr/share/man/man1/procmail.1.gz": "manpages/procmail.1.txt",
    "/usr/share/man/man5/procmailrc.5.gz": "manpages/procmailrc.5.txt",
    "/usr/share/man/man5/procmailex.5.gz": "manpages/procmailex.5.txt",
    "/usr/share/man/man1/formail.1.gz": "manpages/formail.1.txt",
    "/usr/share/man/man1/msmtp.1.gz": "manpages/msmtp.1.txt",
    "/usr/share/man/man1/crontab.1.gz": "manpages/crontab.1.txt",
    "/usr/share/man/man5/crontab.5.gz": "manpages/crontab.5.txt",
    "/usr/share/man/man8/cron.8.gz": "manpages/cron.8.txt",
    "/usr/share/man/man1/at.1.gz": "manpages/at.1.txt",
    "/usr/share/man/man8/logrotate.8.gz": "manpages/logrotate.8.txt",
    "/usr/share/man/man8/sudo.8.gz": "manpages/sudo.8.txt",
    "/usr/share/man/man5/sudoers.5.gz": "manpages/sudoers.5.txt",
    "/usr/share/man/man5/sudo.conf.5.gz": "manpages/sudo.conf.5.txt",
    "/usr/share/man/man8/visudo.8.gz": "manpages/visudo.8.txt",
    "/usr/share/man/man8/sudoreplay.8.gz": "manpages/sudoreplay.8.txt",
    "/usr/share/man/man5/sudoers_timestamp.5.gz": "manpages/sudoers_timestamp.5.txt",
    "/usr/share/man/man1/cvtsudoers.1.gz": "manpages/cvtsudoers.1.txt",
    "/usr/share/man/man1/screen.1.gz": "manpages/screen.1.txt",
    "/usr/share/man/man8/smartctl.8.gz": "manpages/smartctl.8.txt",
    "/usr/share/man/man8/smartd.8.gz": "manpages/smartd.8.txt",
    "/usr/share/man/man5/smartd.conf.5.gz": "manpages/smartd.conf.5.txt",
    "/usr/share/man/man1/setfacl.1.gz": "manpages/setfacl.1.txt",
    "/usr/share/man/man1/getfacl.1.gz": "manpages/getfacl.1.txt",
    "/usr/share/man/man1/chacl.1.gz": "manpages/chacl.1.txt",
    "/usr/share/man/man5/acl.5.gz": "manpages/acl.5.txt",
    "/usr/share/man/man8/gdisk.8.gz": "manpages/gdisk.8.txt",
    "/usr/share/man/man8/sgdisk.8.gz": "manpages/sgdisk.8.txt",
    "/usr/share/man/man8/cryptsetup.8.gz": "manpages/cryptsetup.8.txt",
    "/usr/share/man/man8/cryptsetup-luksFormat.8.gz": "manpages/cryptsetup-luksFormat.8.txt",
    "/usr/share/man/man8/cryptsetup-open.8.gz": "manpages/cryptsetup-open.8.txt",
    "/usr/share/man/man8/cryptsetup-reencrypt.8.gz": "manpages/cryptsetup-reencrypt.8.txt",
    "/usr/share/man/man8/cryptsetup-luksAddKey.8.gz": "manpages/cryptsetup-luksAddKey.8.txt",
    "/usr/share/man/man8/integritysetup.8.gz": "manpages/integritysetup.8.txt",
    "/usr/share/man/man8/veritysetup.8.gz": "manpages/veritysetup.8.txt",
    "/usr/share/man/man8/mdadm.8.gz": "manpages/mdadm.8.txt",
    "/usr/share/man/man5/mdadm.conf.5.gz": "manpages/mdadm.conf.5.txt",
    "/usr/share/man/man4/md.4.gz": "manpages/md.4.txt",
    "/usr/share/man/man8/hdparm.8.gz": "manpages/hdparm.8.txt",
    "/usr/share/man/man5/hdparm.conf.5.gz": "manpages/hdparm.conf.5.txt",
    "/usr/share/man/man1/iperf3.1.gz": "manpages/iperf3.1.txt",
    "/usr/share/man/man1/ncdu.1.gz": "manpages/ncdu.1.txt",
    "/usr/share/man/man1/tree.1.gz": "manpages/tree.1.txt",
    "/usr/share/man/man1/units.1.gz": "manpages/units.1.txt",
    "/usr/share/man/man1/dos2unix.1.gz": "manpages/dos2unix.1.txt",
    "/usr/share/man/man1/lua5.4.1.gz": "manpages/lua5.4.1.txt",
    "/usr/share/man/man1/luac5.4.1.gz": "manpages/luac5.4.1.txt",
    "/usr/share/man/man1/mlr.1.gz": "manpages/mlr.1.txt",
    "/usr/share/postgresql/15/man/man1/psql.1.gz": "manpages/psql.1.txt",
    "/usr/share/postgresql/15/man/man1/pg_dump.1.gz": "manpages/pg_dump.1.txt",
    "/usr/share/postgresql/15/man/man1/pg_restore.1.gz": "manpages/pg_restore.1.txt",
    "/usr/share/postgresql/15/man/man1/pg_dumpall.1.gz": "manpages/pg_dumpall.1.txt",
    "/usr/share/postgresql/15/man/man1/pg_basebackup.1.gz": "manpages/pg_basebackup.1.txt",
    "/usr/share/postgresql/15/man/man1/pg_isready.1.gz": "manpages/pg_isready.1.txt",
    "/usr/share/postgresql/15/man/man1/vacuumdb.1.gz": "manpages/vacuumdb.1.txt",
    "/usr/share/postgresql/15/man/man1/createdb.1.gz": "manpages/createdb.1.txt",
    "/usr/share/postgresql/15/man/man1/pg_receivewal.1.gz": "manpages/pg_receivewal.1.txt",
    "/usr/share/doc/gawk/README": "docs/gawk/README.txt",
    "/usr/share/doc/gawk/NEWS.gz": "docs/gawk/NEWS.txt",
    "/usr/share/doc/gawk/POSIX.STD": "docs/gawk/POSIX.STD.txt",
    "/usr/share/doc/nano/README.gz": "docs/nano/README.txt",
    "/usr/share/doc/nano/NEWS.gz": "docs/nano/NEWS.txt",
    "/usr/share/doc/nano/IMPROVEMENTS.gz": "docs/nano/IMPROVEMENTS.txt",
    "/usr/share/doc/mercurial-common/README.Debian": "docs/mercurial-common/README.Debian.txt",
    "/usr/share/doc/subversion/README": "docs/subversion/README.txt",
    "/usr/share/doc/rcs/NEWS.gz": "docs/rcs/NEWS.txt",
    "/usr/share/doc/quilt/README.gz": "docs/quilt/README.txt",
    "/usr/share/doc/quilt/README.MAIL": "docs/quilt/README.MAIL.txt",
    "/usr/share/doc/ccache/README.md": "docs/ccache/README.md",
    "/usr/share/doc/haproxy/architecture.txt.gz": "docs/haproxy/architecture.txt",
    "/usr/share/doc/haproxy/intro.txt.gz": "docs/haproxy/intro.txt",
    "/usr/share/doc/haproxy/management.txt.gz": "docs/haproxy/management.txt",
    "/usr/share/doc/haproxy/proxy-protocol.txt.gz": "docs/haproxy/proxy-protocol.txt",
    "/usr/share/doc/memcached/protocol.txt.gz": "docs/memcached/protocol.txt",
    "/usr/share/doc/memcached/README.md": "docs/memcached/README.md",
    "/usr/share/doc/memcached/storage.txt.gz": "docs/memcached/storage.txt",
    "/usr/share/doc/memcached/tls.txt.gz": "docs/memcached/tls.txt",
    "/usr/share/doc/rsync/NEWS.md.gz": "docs/rsync/NEWS.md",
    "/usr/share/doc/socat/README.gz": "docs/socat/README.txt",
    "/usr/share/doc/socat/FAQ": "docs/socat/FAQ.txt",
    "/usr/share/doc/socat/EXAMPLES.gz": "docs/socat/EXAMPLES.txt",
    "/usr/share/doc/netcat-openbsd/README.Debian": "docs/netcat-openbsd/README.Debian.txt",
    "/usr/share/doc/tcpdump/README.md.gz": "docs/tcpdump/README.md",
    "/usr/share/doc/traceroute/README": "docs/traceroute/README.txt",
    "/usr/share/doc/ethtool/NEWS.gz": "docs/ethtool/NEWS.txt",
    "/usr/share/doc/dnsmasq-base/FAQ.gz": "docs/dnsmasq-base/FAQ.txt",
    "/usr/share/doc/dnsmasq-base/DBus-interface.gz": "docs/dnsmasq-base/DBus-interface.txt",
    "/usr/share/doc/lftp/FAQ": "docs/lftp/FAQ.txt",
    "/usr/share/doc/lftp/README.gz": "docs/lftp/README.txt",
    "/usr/share/doc/aria2/README.rst.gz": "docs/aria2/README.rst",
    "/usr/share/doc/p7zip/DOC/readme.txt.gz": "docs/p7zip/DOC/readme.txt",
    "/usr/share/doc/p7zip/DOC/Methods.txt": "docs/p7zip/DOC/Methods.txt",
    "/usr/share/doc/p7zip/DOC/7zFormat.txt.gz": "docs/p7zip/DOC/7zFormat.txt",
    "/usr/share/doc/p7zip/DOC/lzma.txt.gz": "docs/p7zip/DOC/lzma.txt",
    "/usr/share/doc/p7zip/DOC/src-history.txt.gz": "docs/p7zip/DOC/src-history.txt",
    "/usr/share/doc/lzip/README.gz": "docs/lzip/README.txt",
    "/usr/share/doc/lzip/README.Debian": "docs/lzip/README.Debian.txt",
    "/usr/share/doc/lzop/README": "docs/lzop/README.txt",
    "/usr/share/doc/lzop/NEWS.gz": "docs/lzop/NEWS.txt",
    "/usr/share/doc/pigz/README": "docs/pigz/README.txt",
    "/usr/share/doc/cabextract/README": "docs/cabextract/README.txt",
    "/usr/share/doc/cabextract/NEWS.gz": "docs/cabextract/NEWS.txt",
    "/usr/share/doc/sox/README.gz": "docs/sox/README.txt",
    "/usr/share/doc/flac/README.md.gz": "docs/flac/README.md",
    "/usr/share/doc/gifsicle/README.md.gz": "docs/gifsicle/README.md",
    "/usr/share/doc/mutt/README.SSL.gz": "docs/mutt/README.SSL.txt",
    "/usr/share/doc/mutt/PGP-Notes.txt.gz": "docs/mutt/PGP-Notes.txt",
    "/usr/share/doc/mutt/README.SMIME": "docs/mutt/README.SMIME.txt",
    "/usr/share/doc/mutt/NEWS.gz": "docs/mutt/NEWS.txt",
    "/usr/share/doc/fetchmail/README.SSL.gz": "docs/fetchmail/README.SSL.txt",
    "/usr/share/doc/fetchmail/README.Debian.gz": "docs/fetchmail/README.Debian.txt",
    "/usr/share/doc/fetchmail/NEWS.gz": "docs/fetchmail/NEWS.txt",
    "/usr/share/doc/procmail/FAQ": "docs/procmail/FAQ.txt",
    "/usr/share/doc/procmail/README": "docs/procmail/README.txt",
    "/usr/share/doc/procmail/QuickStart": "docs/procmail/QuickStart.txt",
    "/usr/share/doc/procmail/FEATURES": "docs/procmail/FEATURES.txt",
    "/usr/share/doc/msmtp/README": "docs/msmtp/README.txt",
    "/usr/share/doc/msmtp/README.Debian": "docs/msmtp/README.Debian.txt",
    "/usr/share/doc/msmtp/NEWS.gz": "docs/msmtp/NEWS.txt",
    "/usr/share/doc/cron/README": "docs/cron/README.txt",
    "/usr/share/doc/cron/FEATURES": "docs/cron/FEATURES.txt",
    "/usr/share/doc/at/README": "docs/at/README.txt",
    "/usr/share/doc/at/timespec": "docs/at/timespec.txt",
    "/usr/share/doc/sudo/README.md": "docs/sudo/README.md",
    "/usr/share/doc/sudo/TROUBLESHOOTING.md.gz": "docs/sudo/TROUBLESHOOTING.md",
    "/usr/share/doc/sudo/UPGRADE.md.gz": "docs/sudo/UPGRADE.md",
    "/usr/share/doc/screen/FAQ.gz": "docs/screen/FAQ.txt",
    "/usr/share/doc/screen/README": "docs/screen/README.txt",
    "/usr/share/doc/screen/README.Debian.gz": "docs/screen/README.Debian.txt",
    "/usr/share/doc/smartmontools/README": "docs/smartmontools/README.txt",
    "/usr/share/doc/smartmontools/NEWS.gz": "docs/smartmontools/NEWS.txt",
    "/usr/share/doc/gdisk/README.gz": "docs/gdisk/README.txt",
    "/usr/share/doc/gdisk/NEWS.gz": "docs/gdisk/NEWS.txt",
    "/usr/share/doc/cryptsetup-bin/NEWS.Debian.gz": "docs/cryptsetup-bin/NEWS.Debian.txt",
    "/usr/share/doc/mdadm/FAQ.gz": "docs/mdadm/FAQ.txt",
    "/usr/share/doc/mdadm/README.recipes.gz": "docs/mdadm/README.recipes.txt",
    "/usr/share/doc/mdadm/README.checkarray": "docs/mdadm/README.checkarray.txt",
    "/usr/share/doc/mdadm/mdmon-design.txt.gz": "docs/mdadm/mdmon-design.txt",
    "/usr/share/doc/hdparm/README.acoustic": "docs/hdparm/README.acoustic.txt",
    "/usr/share/doc/iperf3/README.md.gz": "docs/iperf3/README.md",
    "/usr/share/doc/units/README.gz": "docs/units/README.txt",
    "/usr/share/doc/units/NEWS.gz": "docs/units/NEWS.txt",
    "/usr/share/doc/dos2unix/README.txt.gz": "docs/dos2unix/README.txt",
    "/usr/share/doc/dos2unix/NEWS.txt.gz": "docs/dos2unix/NEWS.txt",
    "/usr/share/doc/nano/faq.html": "html/nano/faq.html",
    "/usr/share/doc/subversion/svn_1.14_releasenotes.html": "html/subversion/svn_1.14_releasenotes.html",
    "/usr/share/doc/subversion/svn_1.13_releasenotes.html": "html/subversion/svn_1.13_releasenotes.html",
    "/usr/share/doc/subversion/svn_1.11_releasenotes.html": "html/subversion/svn_1.11_releasenotes.html",
    "/usr/share/doc/subversion/svn_1.10_releasenotes.html": "html/subversion/svn_1.10_releasenotes.html",
    "/usr/share/doc/ccache/changelog.html.gz": "html/ccache/changelog.html",
    "/usr/share/doc/socat/socat-multicast.html": "html/socat/socat-multicast.html",
    "/usr/share/doc/socat/socat-tun.html": "html/socat/socat-tun.html",
    "/usr/share/doc/socat/socat-openssltunnel.html": "html/socat/socat-openssltunnel.html",
    "/usr/share/doc/socat/socat-genericsocket.html": "html/socat/socat-genericsocket.html",
    "/usr/share/doc/dnsmasq-base/setup.html": "html/dnsmasq-base/setup.html",
    "/usr/share/doc/dnsmasq-base/doc.html": "html/dnsmasq-base/doc.html",
    "/usr/share/doc/aria2/README.html": "html/aria2/README.html",
    "/usr/share/doc/optipng/png_optimization.html": "html/optipng/png_optimization.html",
    "/usr/share/doc/mutt/html/intro.html": "html/mutt/html/intro.html",
    "/usr/share/doc/mutt/html/gettingstarted.html": "html/mutt/html/gettingstarted.html",
    "/usr/share/doc/mutt/html/configuration.html": "html/mutt/html/configuration.html",
    "/usr/share/doc/mutt/html/advancedusage.html": "html/mutt/html/advancedusage.html",
    "/usr/share/doc/mutt/html/optionalfeatures.html": "html/mutt/html/optionalfeatures.html",
    "/usr/share/doc/mutt/html/security.html": "html/mutt/html/security.html",
    "/usr/share/doc/mutt/html/tuning.html": "html/mutt/html/tuning.html",
    "/usr/share/doc/mutt/html/mimesupport.html": "html/mutt/html/mimesupport.html",
    "/usr/share/doc/fetchmail/fetchmail-FAQ.html": "html/fetchmail/fetchmail-FAQ.html",
    "/usr/share/doc/fetchmail/fetchmail-features.html": "html/fetchmail/fetchmail-features.html",
    "/usr/share/doc/fetchmail/design-notes.html": "html/fetchmail/design-notes.html",
    "/usr/share/doc/smartmontools/badblockhowto.html": "html/smartmontools/badblockhowto.html",
    "/usr/share/doc/apache2-doc/manual/en/bind.html": "html/apache2-doc/manual/en/bind.html",
    "/usr/share/doc/apache2-doc/manual/en/caching.html": "html/apache2-doc/manual/en/caching.html",
    "/usr/share/doc/apache2-doc/manual/en/configuring.html": "html/apache2-doc/manual/en/configuring.html",
    "/usr/share/doc/apache2-doc/manual/en/content-negotiation.html": "html/apache2-doc/manual/en/content-negotiation.html",
    "/usr/share/doc/apache2-doc/manual/en/dns-caveats.html": "html/apache2-doc/manual/en/dns-caveats.html",
    "/usr/share/doc/apache2-doc/manual/en/env.html": "html/apache2-doc/manual/en/env.html",
    "/usr/share/doc/apache2-doc/manual/en/expr.html": "html/apache2-doc/manual/en/expr.html",
    "/usr/share/doc/apache2-doc/manual/en/filter.html": "html/apache2-doc/manual/en/filter.html",
    "/usr/share/doc/apache2-doc/manual/en/logs.html": "html/apache2-doc/manual/en/logs.html",
    "/usr/share/doc/apache2-doc/manual/en/mpm.html": "html/apache2-doc/manual/en/mpm.html",
    "/usr/share/doc/apache2-doc/manual/en/sections.html": "html/apache2-doc/manual/en/sections.html",
    "/usr/share/doc/apache2-doc/manual/en/stopping.html": "html/apache2-doc/manual/en/stopping.html",
    "/usr/share/doc/apache2-doc/manual/en/urlmapping.html": "html/apache2-doc/manual/en/urlmapping.html",
    "/usr/share/doc/apache2-doc/manual/en/suexec.html": "html/apache2-doc/manual/en/suexec.html",
    "/usr/share/doc/apache2-doc/manual/en/vhosts/name-based.html": "html/apache2-doc/manual/en/vhosts/name-based.html",
    "/usr/share/doc/apache2-doc/manual/en/vhosts/examples.html": "html/apache2-doc/manual/en/vhosts/examples.html",
    "/usr/share/doc/apache2-doc/manual/en/howto/htaccess.html": "html/apache2-doc/manual/en/howto/htaccess.html",
    "/usr/share/doc/apache2-doc/manual/en/howto/cgi.html": "html/apache2-doc/manual/en/howto/cgi.html",
    "/usr/share/doc/apache2-doc/manual/en/howto/auth.html": "html/apache2-doc/manual/en/howto/auth.html",
    "/usr/share/doc/apache2-doc/manual/en/howto/reverse_proxy.html": "html/apache2-doc/manual/en/howto/reverse_proxy.html",
    "/usr/share/doc/apache2-doc/manual/en/howto/http2.html": "html/apache2-doc/manual/en/howto/http2.html",
    "/usr/share/doc/apache2-doc/manual/en/howto/ssi.html": "html/apache2-doc/manual/en/howto/ssi.html",
    "/usr/share/doc/apache2-doc/manual/en/misc/security_tips.html": "html/apache2-doc/manual/en/misc/security_tips.html",
    "/usr/share/doc/apache2-doc/manual/en/misc/perf-tuning.html": "html/apache2-doc/manual/en/misc/perf-tuning.html",
    "/usr/share/doc/apache2-doc/manual/en/rewrite/flags.html": "html/apache2-doc/manual/en/rewrite/flags.html",
    "/usr/share/doc/apache2-doc/manual/en/rewrite/avoid.html": "html/apache2-doc/manual/en/rewrite/avoid.html",
    "/usr/share/doc/apache2-doc/manual/en/rewrite/remapping.html": "html/apache2-doc/manual/en/rewrite/remapping.html",
    "/usr/share/doc/apache2-doc/manual/en/rewrite/rewritemap.html": "html/apache2-doc/manual/en/rewrite/rewritemap.html",
    "/usr/share/doc/apache2-doc/manual/en/ssl/ssl_faq.html": "html/apache2-doc/manual/en/ssl/ssl_faq.html",
    "/usr/share/doc/apache2-doc/manual/en/ssl/ssl_howto.html": "html/apache2-doc/manual/en/ssl/ssl_howto.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_deflate.html": "html/apache2-doc/manual/en/mod/mod_deflate.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_expires.html": "html/apache2-doc/manual/en/mod/mod_expires.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_headers.html": "html/apache2-doc/manual/en/mod/mod_headers.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_remoteip.html": "html/apache2-doc/manual/en/mod/mod_remoteip.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_reqtimeout.html": "html/apache2-doc/manual/en/mod/mod_reqtimeout.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_status.html": "html/apache2-doc/manual/en/mod/mod_status.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_userdir.html": "html/apache2-doc/manual/en/mod/mod_userdir.html",
    "/usr/share/doc/apache2-doc/manual/en/mod/mod_autoindex.html": "html/apache2-doc/manual/en/mod/mod_autoindex.html",
    "/usr/share/doc/quilt/quilt.pdf": "pdf/quilt.pdf",
}

CORPORA: dict[str, dict[str, str]] = {
    "dev": DEV_FILES,
    "heldout": HELDOUT_FILES,
    "heldout2": HELDOUT2_FILES,
    "heldout3": HELDOUT3_FILES,
}

if __name__ == "__main__":
    sys.exit(main())
