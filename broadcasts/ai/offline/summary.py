"""The body of the summary: the units left once the key facts took theirs, tidied and
chosen by score until the whole rendition fits its budget, in document order.

Taking a fact out of a sentence leaves it grammatical in Vietnamese when the fact is an
adverbial («… tạm ngừng cung cấp điện [từ 07 giờ 30 … (thứ Bảy)] để bảo trì …»,
«… thu gom … [tại khu phố 1 đến khu phố 6].»); `cut` removes such spans and mends the
punctuation. Units are shortened before they are dropped: the writer's «X thông báo»,
purpose and attribution clauses («Nhằm …,», «Theo …,»), «Ủy ban nhân dân» as «UBND»;
then, only if the budget needs it, asides in brackets and a closing «theo quy định».
"""

from __future__ import annotations

import re

from broadcasts.ai.offline.sentences import Unit, continues, is_background, score

_LEAD_CLAUSE = re.compile(
    r"^(?:nhằm|để|theo|thực\s+hiện|căn\s+cứ|in\s+order\s+to|according\s+to)\s[^,;:]{3,90},\s*",
    re.IGNORECASE,
)
# «Công ty Điện lực Sài Gòn thông báo tạm ngừng …» → «Công ty Điện lực Sài Gòn tạm ngừng …».
_ANNOUNCES = re.compile(
    r"^(.{4,90}?)\s+(?:xin\s+|trân\s+trọng\s+)?thông\s+báo\s+(?:về\s+việc\s+)?(?=[a-zà-ỹđ])"
)
_INTRO = re.compile(
    r"\b(?:thông\s+báo|announces?)\b.*(?:như\s+sau|sau\s+đây|the\s+following)\s*:\s*$", re.I
)
_COMMITTEE = re.compile(r"Ủy\s+ban\s+nhân\s+dân|Uỷ\s+ban\s+nhân\s+dân")
# From the first space of a run, and a bounded look ahead: linear however many spaces or «(».
_ASIDE = re.compile(r"(?<!\s)\s*\((?![^)]{0,80}\d)[^)]{1,80}\)")
_AS_REQUIRED = re.compile(
    r",?\s+theo\s+quy\s+định(?:\s+hiện\s+hành|\s+của\s+pháp\s+luật)?(?=[.;]?$)"
)


def compact(text: str) -> str:
    """Shortenings that lose nothing: «UBND» for «Ủy ban nhân dân», «kính mời … dự» for
    «trân trọng kính mời … đến dự»."""
    text = _COMMITTEE.sub("UBND", text)
    text = re.sub(r"\btrân\s+trọng\s+(?=kính\s+mời|thông\s+báo|mời)", "", text)
    return re.sub(r"\b(kính\s+mời\b.{1,80}?)\bđến\s+dự\b", r"\1dự", text)


def mend(text: str) -> str:
    """Punctuation and spacing after spans were taken out."""
    text = re.sub(r"\(\s*[,;]?\s*\)", "", text)
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]\s*([.!?])", r"\1", text)
    text = re.sub(r"^[\s,;:.]+", "", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    if text and not re.search(r"[.!?;:…)\"”]$", text):
        text += "."
    return text


def cut(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the given spans, mended."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return mend(text)


_FINDER = re.compile(
    r"\s+do\s+(?:ông|bà|anh|chị|em|cháu)\s+[^.;]{0,120}?(?:nhặt\s+được|phát\s+hiện|tìm\s+thấy)"
    r"[^.;]*?(?=[.;]|$)",
    re.IGNORECASE,
)


def tidy(text: str, *, lead: bool = False) -> str:
    """A unit without what a summary can do without. Who found a lost wallet (a private
    person, often with a phone number) is nobody else's business."""
    text = _FINDER.sub("", text)
    m = _ANNOUNCES.match(text) if lead else None
    if m and not re.match(r"(?:kính\s+)?(?:đề\s+nghị|yêu\s+cầu)\b", m.group(1), re.IGNORECASE):
        text = f"{m.group(1)} {text[m.end() :]}"
    trimmed = _LEAD_CLAUSE.sub("", text)
    if trimmed != text and len(trimmed) >= 30:
        text = trimmed
    return compact(text)


def is_intro(text: str) -> bool:
    """«… thông báo đến bà con như sau:» with nothing of its own."""
    return bool(_INTRO.search(text)) and not re.search(r"\d", text)


_ASK = re.compile(
    r"^(?:kính\s+)?(?:đề\s+nghị|yêu\s+cầu)\s+(?=(?:mỗi|các|bà\s+con|người|hộ|phụ\s+huynh|chủ)\b)",
    re.IGNORECASE,
)


def shortest(text: str) -> str:
    """A unit with its asides, a closing «theo quy định» and a leading «Đề nghị» taken off."""
    text = _AS_REQUIRED.sub("", _ASIDE.sub("", text))
    text = _ASK.sub("", text)
    return mend(text)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


def repeats_title(text: str, title: str) -> bool:
    """Whether a unit says little more than the title does."""
    words = _words(text)
    said = set(_words(title))
    return bool(words) and sum(w in said for w in words) / len(words) >= 0.6


def joined(units: list[Unit]) -> str:
    """Units in document order: a space within a source line, a newline between lines.
    A clause that ended on «;» ends its sentence when what followed it is left out."""
    out: list[str] = []
    ordered = sorted(units, key=lambda u: u.index)
    for i, u in enumerate(ordered):
        prev = ordered[i - 1] if i else None
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        text = u.text
        if text.endswith(";") and not (nxt and nxt.index == u.index + 1 and nxt.line == u.line):
            text = text[:-1] + ("" if u.bullet else ".")
        same_line = prev is not None and prev.line == u.line
        goes_on = same_line and prev is not None and prev.index == u.index - 1
        if not (goes_on and prev is not None and prev.text.endswith(";")):
            text = text[:1].upper() + text[1:]
        if prev is not None:
            out.append(" " if same_line else "\n")
        out.append(text if same_line else u.bullet + text)
    return "".join(out)


def _needs_previous(unit: Unit, previous: Unit | None) -> bool:
    """A unit that cannot stand without the one before it: a continuation, or a list
    item under its heading («… các tuyến đường sau:»)."""
    if previous is None or previous.index != unit.index - 1:
        return False
    return continues(unit.text) or bool(unit.bullet and previous.text.endswith(":"))


def select(
    units: list[Unit],
    room: int,
    *,
    title: str = "",
    title_says_what: bool = True,
    central: frozenset[int] = frozenset(),
) -> str:
    """The units worth most that fit in `room` characters, in document order.

    A small knapsack over the units (each taken whole, in its shortest form, or not at
    all), keeping a list with its heading and a continuation with what it continues.
    `central` are the units the key facts were read from; they and the opening unit say
    what happens, which matters most when the title (a bare «Giấy mời họp dân») does not.
    A unit that only repeats the title is left out."""
    if room <= 0 or not units:
        return ""
    if len(joined(units)) <= room:
        return joined(units)
    ordered = sorted(units, key=lambda u: u.index)
    lead = ordered[0]
    values: dict[int, int] = {}
    for unit in ordered:
        # Scored as it now reads: the facts the key-fact lines took are no longer its own.
        value = score(unit.text, lead=False) - (3 if is_background(unit.original) else 0)
        opens = unit is lead and not is_background(unit.original)
        if unit.index in central or opens:
            value += 1 if title_says_what else 4
        values[unit.index] = -99 if repeats_title(unit.text, title) else value
    pairs = zip(ordered, ordered[1:], strict=False)
    heads = {u.index for u, after in pairs if _needs_previous(after, u)}
    picked = _knapsack(ordered, values, heads, room)
    while picked and len(joined(picked)) > room:
        picked.remove(min(picked, key=lambda u: values[u.index]))
    return joined(picked)


Option = tuple[float, tuple[Unit, ...]]


def _knapsack(
    ordered: list[Unit], values: dict[int, int], heads: set[int], room: int
) -> list[Unit]:
    # best[(characters used, previous unit taken)] = (worth, units taken)
    best: dict[tuple[int, bool], Option] = {(0, False): (0.0, ())}
    for i, unit in enumerate(ordered):
        value = values[unit.index]
        worth = max(value, 0.5) if value >= 1 or unit.index in heads else None
        needs = _needs_previous(unit, ordered[i - 1] if i else None)
        short = unit.with_text(shortest(unit.text))
        variants = [(short, 0.0), (unit, 0.25)] if short.text != unit.text else [(unit, 0.25)]
        after: dict[tuple[int, bool], Option] = {}
        for (used, taken), (total, picked) in best.items():
            options: list[tuple[tuple[int, bool], Option]] = [((used, False), (total, picked))]
            if worth is not None and (taken or not needs):
                for variant, bonus in variants:
                    cost = len(variant.text) + len(variant.bullet) + (1 if picked else 0)
                    # Of two equal choices the shorter wins: it leaves room for more.
                    gain = worth + bonus - cost / 10_000
                    if used + cost <= room:
                        options.append(((used + cost, True), (total + gain, (*picked, variant))))
            for key, option in options:
                if key not in after or option[0] > after[key][0]:
                    after[key] = option
        best = after
    return list(max(best.values(), key=lambda option: option[0])[1])
