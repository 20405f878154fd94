"""Load course files into Documents: Markdown/plain text (UTF-8, UTF-16, GB18030/GBK, other East Asian
encodings when detected) and PDF.

Every way a file can be unusable raises :class:`LoadError` with a one-line reason, so the
ingest report can say what was skipped and why while the rest still indexes.

>>> decode_text("温度参数".encode("gbk"))
('温度参数', 'gb18030')
>>> strip_front_matter("---\\ntitle: 课程主题\\n---\\n# 课程主题\\n")
('# 课程主题\\n', {'title': '课程主题'})
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from retrieval.errors import LoadError
from retrieval.types import Document, Page

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | PDF_SUFFIXES
SOURCES_FILE = "sources.yaml"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- text decoding

def _looks_binary(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control > 0.02 * len(sample)


def _plausible_text(text: str) -> bool:
    """True when decoded text is mostly letters, CJK, punctuation and spaces (not mojibake)."""
    if not text:
        return True
    odd = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Co", "Cn", "Cs") or (cat == "Cc" and ch not in "\n\r\t\f"):
            odd += 1
    return odd <= 0.01 * len(text)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM optional), UTF-16 (with BOM) or GB18030 (superset of GBK/GB2312);
    text in another East Asian encoding (Shift-JIS, EUC-JP, Big5) is read in it where
    charset-normalizer names it and its reading is clearly the likelier one (:func:`_other_cjk_reading`).

    Returns (text, encoding). Raises LoadError for binary content or an undecodable encoding.

    >>> decode_text("言語モデルは確率分布です。温度はランダム性を制御します。".encode("shift_jis"))
    ('言語モデルは確率分布です。温度はランダム性を制御します。', 'cp932')
    >>> decode_text("語言模型是詞序列上的機率分佈，溫度參數控制取樣的隨機性。".encode("big5"))[1]
    'big5'
    >>> decode_text("# 交叉熵\\nloss = F.cross_entropy(logits, y)\\n".encode("gbk"))[1]  # 熵 is a rare character
    'gb18030'
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise LoadError(f"undecodable UTF-8 text after its byte-order mark ({exc.reason})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise LoadError(f"undecodable UTF-16 text ({exc.reason})") from None
    if _looks_binary(data):
        raise LoadError("binary content, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    readable = text is not None and _plausible_text(text) and _mostly_cjk_or_ascii(text)
    other = _other_cjk_reading(data, text if readable else None)
    if other is not None:
        return other
    if readable:
        return text, "gb18030"
    raise LoadError("undecodable text: neither UTF-8, UTF-16 nor GB18030/GBK; save it as UTF-8 and upload it again")


# The frequent characters of each family's own standard (Simplified Chinese text is 99%+ GB2312 level 1,
# the course notes included); a wrong reading gives rare ones: Shift-JIS read as GB18030 0.0
_GB_FREQUENT = (0xB0, 0xD7)  # GB2312 level 1: lead bytes B0-D7 (3,755 hanzi)
_BIG5_FREQUENT = (0xA440, 0xC67E)  # Big5's frequently used characters (5,401)
_JIS_FREQUENT = (0x88, 0x98)  # JIS X 0208 level 1 in Shift-JIS: lead bytes 88-98 (2,965 kanji)


def _frequent_share(text: str, encoding: str) -> tuple[float, int]:
    """(share of ``text``'s letters that are frequent in ``encoding``'s language, number of letters):
    letters are CJK ideographs, kana and hangul; frequent are the ideographs of the standard's first
    level, and kana for Japanese. (1.0, 0) with none. (No Korean: nearly any two bytes read as one of
    KS X 1001's hangul, so a Korean reading cannot be told from garbage this way.)

    >>> _frequent_share("语言模型", "gb18030"), _frequent_share("言語モデル".encode("shift_jis").decode("gb18030"), "gb18030")
    ((1.0, 4), (0.0, 5))
    >>> _frequent_share("言語モデル", "cp932"), _frequent_share("語言模型", "big5")
    ((1.0, 5), (1.0, 4))
    """
    if encoding.startswith(("cp932", "shift_jis", "euc_j")):
        japanese, codec, position, (low, high) = True, "cp932", lambda code: code[0], _JIS_FREQUENT
    elif encoding.startswith(("big5", "cp950")):
        japanese, codec, position, (low, high) = False, "big5", lambda code: int.from_bytes(code[:2], "big"), _BIG5_FREQUENT
    else:
        japanese, codec, position, (low, high) = False, "gb2312", lambda code: code[0], _GB_FREQUENT
    letters = frequent = 0
    for ch in text:
        kana, hangul, ideograph = "\u3040" <= ch <= "\u30ff", "\uac00" <= ch <= "\ud7a3", "\u4e00" <= ch <= "\u9fff"
        if not (kana or hangul or ideograph):
            continue
        letters += 1
        if kana and japanese:
            frequent += 1
        elif ideograph:
            try:
                frequent += low <= position(ch.encode(codec)) <= high
            except UnicodeEncodeError:
                pass
    return (frequent / letters if letters else 1.0), letters


_OTHER_CJK = ("cp932", "shift_jis", "euc_jp", "euc_jis", "big5", "cp950")  # not Korean: see _frequent_share
_MIN_LETTERS = 20  # below this, a readable GB18030 text stays GB18030 (charset-normalizer often names
# Big5 or CP949 for a few Simplified Chinese words, and a short file has too few letters to compare)


def _other_cjk_reading(data: bytes, gb_text: str | None) -> tuple[str, str] | None:
    """(text, encoding) when ``data`` reads better in a Japanese or Traditional Chinese
    encoding than in GB18030 (``gb_text``: its GB18030 reading, None when that is no text): the
    encoding charset-normalizer names, decoding strictly to plausible text with two letters or more,
    mostly frequent ones in that language (80%), and, against a GB18030 reading, with at least ``_MIN_LETTERS``
    letters and a share of frequent ones 0.2 above the GB18030 reading's. Not asked when the GB18030
    reading is already mostly frequent characters."""
    gb_share = _frequent_share(gb_text, "gb18030")[0] if gb_text is not None else 0.0
    if gb_text is not None and gb_share >= 0.8:
        return None
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or not best.encoding.startswith(_OTHER_CJK):
        return None
    try:
        text = data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    share, letters = _frequent_share(text, best.encoding)
    if not _plausible_text(text) or letters < 2 or share < 0.8:
        return None
    if gb_text is not None and (letters < _MIN_LETTERS or share < gb_share + 0.2):
        return None
    return text, best.encoding


def _mostly_cjk_or_ascii(text: str) -> bool:
    """GB18030 maps almost any byte pair to *some* character; real Chinese text is CJK + ASCII, with
    the symbols GB2312 has too (·, ×, °, pinyin with tone marks, bopomofo, Greek letters, arrows, ≤, ①,
    □, ★) and emoji. Not kana: EUC-JP's kana read as GB2312's, so Japanese would pass for Chinese.

    >>> _mostly_cjk_or_ascii("□ 不同"), _mostly_cjk_or_ascii("24 ·"), _mostly_cjk_or_ascii("α ≤ β → ①")
    (True, True, True)
    >>> _mostly_cjk_or_ascii("声调：mā má mǎ mà"), _mostly_cjk_or_ascii("注音：ㄅㄆㄇㄈ")
    (True, True)
    """
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return True
    cjkish = sum(
        1
        for ch in non_ascii
        if "\u4e00" <= ch <= "\u9fff"  # CJK unified ideographs
        or "\u3000" <= ch <= "\u303f"  # CJK punctuation
        or "\uff00" <= ch <= "\uffef"  # full-width forms
        or "\u2000" <= ch <= "\u206f"  # general punctuation (“ ” …)
        or "\u3400" <= ch <= "\u4dbf"
        or "\u00a0" <= ch <= "\u024f"  # Latin-1 signs (·, ×, °), pinyin's tone marks (ā, ǎ, ǘ)
        or "\u02c7" <= ch <= "\u02d9"  # tone marks alone (ˇ ˉ ˊ ˋ ˙)
        or "\u3100" <= ch <= "\u312f"  # bopomofo (ㄅㄆㄇ)
        or "\u0391" <= ch <= "\u03c9"  # Greek letters
        or "\u2100" <= ch <= "\u23ff"  # letterlike symbols, arrows, mathematical operators
        or "\u2460" <= ch <= "\u27bf"  # ①, box drawing, □ ★ and other shapes and symbols
        or "\U0001f300" <= ch <= "\U0001faff"  # emoji (GB18030's four-byte codes: "👉 hw2 due")
    )
    return cjkish >= 0.8 * len(non_ascii)


# --------------------------------------------------------------------------- markdown cleaning

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
# Linear on purpose: a lazy ``.*?`` between delimiters, or a lazy group before optional trailing
# characters, rescans the rest of the input from every start (80 KB of "{%" took 12 s, a heading
# line of 20k spaces 1.1 s). tests/test_linear_text.py doubles such inputs and bounds the growth.
_HEADING_LINE = re.compile(r"^#{1,6}[ \t]+(.*)$", re.M)
_TAG_PAIRS = (("{%", "%}"), ("{{", "}}"))


class _AliasLoader(yaml.SafeLoader):
    """YAML of a staff's sources.yaml: no timestamps (``date: 2025-02-30`` raised ValueError, and a date
    is no JSON value for the index's metadata): a date stays its text."""


_AliasLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class _PlainLoader(_AliasLoader):
    """YAML as a corpus file may hold it: :class:`_AliasLoader` without aliases (a 381-byte "billion
    laughs" front matter expanded to gigabytes once its title was read)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases (*name) are not accepted in corpus files")
        return super().compose_node(parent, index)


def load_yaml(text: str, aliases: bool = False) -> Any:
    """Parse YAML of the corpus (front matter, sources.yaml); raises ``yaml.YAMLError`` for anything it
    will not read: aliases (unless ``aliases``: sources.yaml, the staff's own, which no upload replaces),
    a 5,000-digit number, nesting deeper than Python recurses.

    >>> load_yaml("title: 课程\\ndate: 2025-02-30")
    {'title': '课程', 'date': '2025-02-30'}
    >>> load_yaml("a: &x [1, 2]\\nb: *x")
    Traceback (most recent call last):
    ...
    yaml.error.YAMLError: YAML aliases (*name) are not accepted in corpus files
    """
    try:
        return yaml.load(text, Loader=_AliasLoader if aliases else _PlainLoader)  # noqa: S506 - SafeLoader subclasses
    except (ValueError, RecursionError, OverflowError) as exc:  # a huge int, deep nesting
        raise yaml.YAMLError(f"{type(exc).__name__}") from None


def strip_front_matter(text: str) -> tuple[str, dict[str, Any]]:
    """Remove a leading ``---`` YAML block (Jekyll front matter) and return it parsed (``{}`` when it
    cannot be read)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, {}
    try:
        meta = load_yaml(match.group(1)) or {}
    except yaml.YAMLError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    return text[match.end():], meta


def first_heading(text: str) -> str | None:
    """The text of the first non-empty ATX heading, without closing ``#``s.

    >>> first_heading("intro\\n## 第1讲 引言 ##\\n# later")
    '第1讲 引言'
    """
    for match in _HEADING_LINE.finditer(text):
        title = match.group(1).rstrip(" \t#").strip()
        if title:
            return title
    return None


def _remove_tags(text: str) -> str:
    """One left-to-right pass: each ``{%``/``{{`` up to its nearest closer is dropped; an unclosed opener is kept.

    >>> _remove_tags("a{% if x %}b{{ y }}c{% never closed")
    'abc{% never closed'
    """
    out, i = [], 0
    nxt = {opener: text.find(opener) for opener, _ in _TAG_PAIRS}  # next position of each opener (-1: none)
    while True:
        live = [(pos, opener, closer) for opener, closer in _TAG_PAIRS if (pos := nxt[opener]) >= 0]
        if not live:
            break
        start, opener, closer = min(live)
        end = text.find(closer, start + len(opener))
        if end < 0:  # no closer anywhere after it, so none for any later opener of this kind
            nxt[opener] = -1
            continue
        out.append(text[i:start])
        i = end + len(closer)
        for o, _ in _TAG_PAIRS:  # each find scans forward from i only when its cached hit fell behind
            if 0 <= nxt[o] < i:
                nxt[o] = text.find(o, i)
    out.append(text[i:])
    return "".join(out)


def strip_template_tags(text: str) -> str:
    """Drop Liquid/Jinja tags such as ``{% for x in y %}`` and ``{{ x }}``; keep everything else."""
    text = _remove_tags(text)
    # Lines that held only a tag become empty; collapse the resulting runs of blank lines.
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", text)


# --------------------------------------------------------------------------- PDF

def read_pdf(data: bytes, max_pages: int | None = None, timeout_s: float | None = None
             ) -> tuple[list[str], dict[str, Any], list[str]]:
    """:func:`_read_pdf` in a child process (``python -m retrieval.pdf_text``) killed after
    ``timeout_s`` seconds (None: in this process). pypdf's text extraction cannot be interrupted,
    and a small crafted PDF (pages sharing one long content stream) takes time that grows with
    pages x stream: 174 s for 10 KB and 20 pages. The child costs about 0.15 s per PDF
    (`python bench/guard_costs.py`).

    >>> read_pdf(b"%PDF-1.4 junk %%EOF", timeout_s=30)
    Traceback (most recent call last):
    ...
    retrieval.errors.LoadError: unreadable PDF (PdfReadError: ...)
    """
    if timeout_s is None:
        return _read_pdf(data, max_pages)
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "retrieval.pdf_text"] + ([str(max_pages)] if max_pages is not None else [])
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=timeout_s, cwd=root, env=env)
    except subprocess.TimeoutExpired:
        raise LoadError(f"reading its text took over {timeout_s:g} s (setting pdf_timeout_s)") from None
    try:
        result = json.loads(done.stdout)
    except ValueError:
        raise LoadError(f"reading it stopped the reader (exit status {done.returncode}; out of memory?)") from None
    if "error" in result:
        raise LoadError(result["error"])
    pages, meta, notes = result["ok"]
    return pages, meta, notes


def _read_pdf(data: bytes, max_pages: int | None = None) -> tuple[list[str], dict[str, Any], list[str]]:
    """Return (page texts, metadata, notes) or raise LoadError (also when it has over ``max_pages`` pages)."""
    import pypdf
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5] == b"%PDF-":
        raise LoadError("not a PDF (no %PDF header)")
    if b"%%EOF" not in data[-16384:]:
        raise LoadError("truncated PDF (no %%EOF marker at the end)")  # some writers pad a few KB after it
    notes: list[str] = []
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # missing crypto backend, unsupported algorithm
                raise LoadError(f"encrypted PDF that cannot be opened ({exc})") from None
            if not ok:
                raise LoadError("encrypted PDF (needs a password)")
            notes.append("encrypted with an empty password; decrypted")
        if max_pages is not None and len(reader.pages) > max_pages:
            raise LoadError(f"{len(reader.pages)} pages is over the limit of {max_pages} (setting max_pages_per_file)")
        pages = [(page.extract_text() or "") for page in reader.pages]
        meta = {}
        if reader.metadata and reader.metadata.title:
            meta["title"] = str(reader.metadata.title).strip()
    except LoadError:
        raise
    except (PdfReadError, Exception) as exc:  # pypdf raises many types on damaged files
        raise LoadError(f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    if not pages:
        raise LoadError("PDF has no pages")
    if not any(p.strip() for p in pages):
        raise LoadError("no text layer (image-only or scanned PDF?)")
    return pages, meta, notes


def _clean_pdf_page(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()


# --------------------------------------------------------------------------- entry point

def load_sources(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """Read ``sources.yaml`` (a list of {path, title, ...}) into {path: entry}; missing file → {}."""
    path = corpus_dir / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        entries = load_yaml(path.read_text(encoding="utf-8"), aliases=True) or []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LoadError(f"{SOURCES_FILE} is not valid YAML: {exc}") from None
    if not isinstance(entries, list):
        raise LoadError(f"{SOURCES_FILE} must be a list of entries with a 'path'")
    return {
        str(e["path"]).strip("/"): {str(k): _json_safe(v) for k, v in e.items() if k != "path"}
        for e in entries
        if isinstance(e, dict) and e.get("path")
    }


def _json_safe(value: Any) -> Any:
    """``value`` as the index's JSON metadata can hold it (a mapping key or an odd scalar as its text).

    >>> _json_safe({1: [True, 2.5, None, b"x"]})
    {'1': [True, 2.5, None, "b'x'"]}
    """
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def load_document(
    path: Path, corpus_dir: Path, sources: dict[str, dict[str, Any]], data: bytes | None = None,
    max_pages: int | None = None, pdf_timeout_s: float | None = None,
) -> Document:
    """Load one file of the corpus. ``data`` may be passed when the caller already read it.

    A PDF with more than ``max_pages`` pages is refused before its text is extracted, and one whose
    text takes over ``pdf_timeout_s`` seconds to read (:func:`read_pdf`) is refused then.
    """
    rel = path.relative_to(corpus_dir).as_posix()
    if data is None:
        data = path.read_bytes()
    if not data.strip():
        raise LoadError("empty file")
    suffix = path.suffix.lower()
    entry = dict(sources.get(rel, {}))
    notes: list[str] = []
    pages: list[Page] = []
    if suffix in PDF_SUFFIXES:
        page_texts, pdf_meta, notes = read_pdf(data, max_pages, pdf_timeout_s)
        parts, offset = [], 0
        for number, raw in enumerate(page_texts, start=1):
            cleaned = _clean_pdf_page(raw)
            if parts:
                offset += 2  # the "\n\n" separator
            pages.append(Page(number=number, start=offset, end=offset + len(cleaned)))
            parts.append(cleaned)
            offset += len(cleaned)
        text = "\n\n".join(parts)
        empty = sum(1 for p in pages if p.start == p.end)
        if empty:
            notes.append(f"{empty} of {len(pages)} pages have no text")
        title = entry.get("title") or pdf_meta.get("title") or path.stem
        kind = "pdf"
    elif suffix in TEXT_SUFFIXES:
        text, encoding = decode_text(data)
        if encoding not in ("utf-8", "utf-8-sig"):
            notes.append(f"decoded as {encoding}")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        front: dict[str, Any] = {}
        if suffix in (".md", ".markdown"):
            text, front = strip_front_matter(text)
            text = strip_template_tags(text)
            kind = "markdown"
        else:
            kind = "text"
        if not text.strip():
            raise LoadError("empty file (no text after front matter)")
        heading = first_heading(text) if kind == "markdown" else None
        title = (
            entry.get("title")
            or (str(front["title"]) if isinstance(front.get("title"), (str, int, float)) and front["title"] else None)
            or heading
            or path.stem
        )
        entry = {**{k: v for k, v in front.items() if isinstance(v, (str, int, float))}, **entry}
    else:
        raise LoadError(f"unsupported file type {suffix or '(none)'}")
    entry.pop("title", None)
    return Document(
        source=rel,
        title=str(title),
        text=text,
        kind=kind,
        content_hash=content_hash(data),
        pages=pages,
        meta=entry,
        notes=notes,
    )
