"""Search keys for Chinese names: full pinyin and initials, so "ftsq" or "fengtai" finds 凤台社区."""
from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

_ASCII_QUERY = re.compile(r"^[A-Za-z]+$")


def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials), lower case, non-Chinese characters kept as they are."""
    syllables = lazy_pinyin(name, style=Style.NORMAL, errors="default")
    full = "".join(syllables).lower()
    initials = "".join(s[0] for s in syllables if s).lower()
    return full, initials


def is_pinyin_query(query: str) -> bool:
    return bool(_ASCII_QUERY.match(query))
