"""Local files as text: which files a corpus's globs match, and how their bytes become text.

Binary or text is decided by content, not by the share of bytes that are not UTF-8:
- a byte order mark names the encoding (UTF-8, UTF-16 or UTF-32), and is stripped;
- valid UTF-8 is UTF-8; UTF-8 with a few stray bad bytes among valid multi-byte
  characters stays UTF-8, its bad bytes replaced by U+FFFD (counted by the corpus step);
- anything else goes to a charset detector (charset-normalizer). A legacy 8-bit text
  (Windows-1252, latin-1) is decoded and kept, not dropped. Single-byte Latin code pages
  cannot be told apart on a short text (the detector prefers Windows-1250 for French), so
  any Latin single-byte guess is read as Windows-1252, the superset of latin-1 that
  Western text is nearly always written in; Cyrillic, Greek, Hebrew, Arabic or CJK
  guesses are kept;
- NUL bytes in a regular column (at least NUL_SHARE of the bytes) are UTF-16 or UTF-32
  without a mark;
- a file is binary when no charset fits, or when, once decoded, at least CONTROL_SHARE
  (and CONTROL_MIN) of its characters are control characters, NUL included (random or compressed bytes
  decoded as Windows-1252 give about 11 %, images more, text about none; a stray NUL or
  escape code in a text stays, replaced by a space and counted by the corpus step).

Line endings (CRLF, and CR alone as in old Mac files) are split like LF here; the texts
themselves are normalised to LF by the corpus step, for every source.
"""

from __future__ import annotations

import codecs
import glob
import os
import re
from dataclasses import dataclass, field

from scalelaw.errors import DataError

NUL_SHARE = 0.01
CONTROL_SHARE = 0.05
# ... and at least this many: two stray control characters in a 40-character text stay text
CONTROL_MIN = 8
# C0 and C1 control characters other than tab, line feed, carriage return and form feed
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Scripts whose single-byte code pages a detector tells apart from Latin ones reliably
_NON_LATIN_SINGLE_BYTE = re.compile(
    r"^(cp1251|cp1253|cp1255|cp1256|cp866|cp855|koi8|mac_cyrillic|mac_greek|iso8859_[5678]|"
    r"cp737|cp869|cp862|cp864|tis_620|cp874|cp1258|ptcp154|kz1048)"
)


class TextFileError(DataError):
    pass


@dataclass
class MatchedFiles:
    """The files a corpus's globs match, each once, in pattern then name order."""

    files: list[str] = field(default_factory=list)
    matched_again: int = 0  # extra matches of a file already listed (two globs, a link)
    broken_links: list[str] = field(default_factory=list)  # dangling or looping links, not read


def match_files(patterns: list[str], base_dir: str | os.PathLike = ".") -> MatchedFiles:
    """Files matched by the globs. A link that leads nowhere is listed in broken_links
    (counted and named in the quality table), not silently skipped; folders are skipped."""
    matched = MatchedFiles()
    seen: set[str] = set()
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
        found = False
        for match in map(os.path.normpath, sorted(glob.glob(full, recursive=True))):
            if os.path.islink(match) and not os.path.exists(match):
                found = True
                if match not in matched.broken_links:
                    matched.broken_links.append(match)
                continue
            if not os.path.isfile(match):
                continue
            found = True
            key = os.path.realpath(match)
            if key in seen:
                matched.matched_again += 1
                continue
            seen.add(key)
            matched.files.append(match)
        if not found:
            raise TextFileError(f"file pattern {pattern!r} matches no file")
    if not matched.files and matched.broken_links:
        raise TextFileError(f"every file matched is a broken link: {', '.join(matched.broken_links[:5])}")
    return matched


@dataclass
class Decoded:
    text: str
    encoding: str  # the codec used; "utf-8" for nearly every file
    byte_order_mark: bool = False


def _bom(data: bytes) -> tuple[str, int] | None:
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            return encoding, len(mark)
    return None


def _utf16_or_32_without_bom(data: bytes) -> str | None:
    """UTF-16 or UTF-32 text without a mark: NUL bytes in a regular column."""
    if len(data) < 4:
        return None
    for width, names in ((4, ("utf-32-le", "utf-32-be")), (2, ("utf-16-le", "utf-16-be"))):
        if len(data) % width:
            continue
        columns = [data[i::width] for i in range(width)]
        nul_share = [c.count(0) / len(c) for c in columns]
        # ASCII-range text in UTF-16-LE: every odd byte NUL, almost no even one
        if width == 2 and nul_share[1] > 0.7 and nul_share[0] < 0.1:
            return names[0]
        if width == 2 and nul_share[0] > 0.7 and nul_share[1] < 0.1:
            return names[1]
        if width == 4 and min(nul_share[1:3]) > 0.9 and nul_share[0] < 0.1:
            return names[0]
        if width == 4 and min(nul_share[:2]) > 0.9 and nul_share[3] < 0.1:
            return names[1]
    return None


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few stray bad bytes: more valid multi-byte characters than bad bytes."""
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    bad = replaced - data.count("\ufffd".encode())
    multibyte = len(text) - len(text.encode("ascii", errors="ignore")) - replaced
    return multibyte > bad


def _detected(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    encoding = best.encoding
    if encoding.startswith(("utf_16", "utf_32", "utf_8")) or _NON_LATIN_SINGLE_BYTE.match(encoding):
        return encoding
    if best.byte_order_mark or not _single_byte(encoding):
        return encoding  # a multi-byte code page (Shift JIS, GB18030, Big5...)
    return "cp1252"


def _single_byte(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name not in _MULTI_BYTE
    except LookupError:
        return False


_MULTI_BYTE = {
    codecs.lookup(name).name
    for name in ("cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb2312", "gbk", "gb18030", "big5", "big5hkscs",
                 "cp949", "euc_kr", "johab", "hz", "iso2022_kr", "cp950", "shift_jis_2004", "euc_jis_2004")
}


def decode(data: bytes) -> Decoded | None:
    """The text of a file's bytes, or None when the bytes are not text (binary)."""
    if not data:
        return Decoded("", "utf-8")
    marked = _bom(data)
    if marked:
        encoding, skip = marked
        result = Decoded(data[skip:].decode(encoding, errors="replace"), encoding, byte_order_mark=True)
    elif data.count(0) >= NUL_SHARE * len(data) and _utf16_or_32_without_bom(data):
        encoding = _utf16_or_32_without_bom(data)
        result = Decoded(data.decode(encoding, errors="replace"), encoding)
    else:
        try:
            result = Decoded(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            encoding = "utf-8" if _mostly_utf8(data) else _detected(data)
            if encoding is None:
                return None
            result = Decoded(data.decode(encoding, errors="replace"), codecs.lookup(encoding).name)
    controls = len(_CONTROL.findall(result.text))
    if controls >= CONTROL_MIN and controls >= CONTROL_SHARE * len(result.text):
        return None
    return result


def is_binary(data: bytes) -> bool:
    """True when ``data`` is not text by the rules above."""
    return decode(data) is None


def read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as err:
        raise TextFileError(f"{path}: cannot read: {err.strerror or err}") from err


def lines(text: str) -> list[str]:
    """The lines of ``text``, split at LF, CRLF or a lone CR; no trailing empty line."""
    parts = _LINE_BREAK.split(text)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def normalise_line_endings(text: str) -> str:
    """CRLF and lone CR become LF: the same tokens, sentences and offsets as an LF file."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
