"""Whether a notice is urgent: words of danger, not words of routine.

Urgent means a resident should read it now: a storm, a flood tide, a fire, an outbreak,
a scam going round, a sudden cut of power or water, or a notice its writer marked
«KHẨN» / «HỎA TỐC». Words that only look alike stay routine: «khẩn cấp» in "in an
emergency call 113", «phòng cháy chữa cháy» training, «truyền dịch», «dịch vụ»,
a planned power cut. The official can always turn the flag on or off
(`broadcasts.compose.set_urgent`).
"""

from __future__ import annotations

import re

from broadcasts.ai.redact import normalize

# A notice its writer marked urgent: «KHẨN», «THÔNG BÁO KHẨN», «HỎA TỐC», «KHẨN CẤP:» on top.
_MARKED = re.compile(
    r"\bkhẩn\b(?!\s+(?:cấp|trương))|\bh[oỏ][aả]\s+tốc\b|^\W*khẩn\s+cấp\b|"
    r"tình\s+trạng\s+khẩn\s+cấp|ban\s+bố\s+khẩn\s+cấp",
    re.IGNORECASE | re.MULTILINE,
)
_DANGER = re.compile(
    r"\b(?:cảnh\s+báo|triều\s+cường|ngập(?:\s+úng|\s+sâu|\s+nước)?|bão|áp\s+thấp|lũ|"
    r"sạt\s+lở|sụt\s+lún|sơ\s+tán|động\s+đất|sóng\s+thần|lốc\s+xoáy|giông\s+lốc|"
    r"lừa\s+đảo|giả\s+danh|mạo\s+danh|chiếm\s+đoạt|"
    r"đám\s+cháy|vụ\s+cháy|hỏa\s+hoạn|cháy\s+(?:nhà|lớn|rừng|chợ)|xảy\s+ra\s+cháy|"
    r"dịch\s+bệnh|ổ\s+dịch|bùng\s+phát|vùng\s+dịch|công\s+bố\s+dịch|"
    r"dịch\s+(?:cúm|tả|sởi|covid|tay\s+chân\s+miệng)|ngộ\s+độc)\b",
    re.IGNORECASE,
)
_SUDDEN = re.compile(
    r"(?:cúp|cắt|mất|ngừng|ngưng)\s+(?:cung\s+cấp\s+|cấp\s+)?(?:điện|nước)[^.]{0,60}"
    r"đột\s+xuất|đột\s+xuất[^.]{0,60}(?:cúp|cắt|mất|ngừng|ngưng)\s+(?:cung\s+cấp\s+|cấp\s+)?"
    r"(?:điện|nước)|sự\s+cố\s+(?:điện|nước|vỡ\s+ống)",
    re.IGNORECASE,
)
_DANGER_EN = re.compile(
    r"\b(?:urgent|warning|alert|scam|fraud|typhoon|tropical\s+storm|storm|flood(?:ing)?|"
    r"landslide|outbreak|evacuate\s+(?:now|immediately))\b",
    re.IGNORECASE,
)


def urgency_reason(text: str) -> str | None:
    """The words that make a notice urgent, or None when it is routine."""
    text = normalize(text)
    for pattern in (_MARKED, _DANGER, _SUDDEN, _DANGER_EN):
        m = pattern.search(text)
        if m:
            return m.group().strip()
    return None


def is_urgent(text: str) -> bool:
    """True for a storm, flood, fire, outbreak, scam, sudden cut, or a notice marked KHẨN."""
    return urgency_reason(text) is not None
