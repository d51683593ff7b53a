"""Tricky personal data for the redaction step, and the public contacts next to it.

Each case is a notice fragment, what must not reach an external AI (`hide`: each string,
as written, must be gone from the redacted text, and so must its digits when it has six or
more), and what must reach it unchanged (`keep`). Used by `test_redaction_corpus.py` and
by `python -m tests.benchmarks.eval_ai --corpus` (caught / missed / over-redacted).
"""

from __future__ import annotations

from dataclasses import dataclass

ZW = "\u200b"  # zero-width space
ZWJ = "\u200d"
NBSP = "\u00a0"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    text: str
    hide: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


def _case(name: str, text: str, hide: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> Case:
    return Case(name, text, hide, keep)


CORPUS: tuple[Case, ...] = (
    # Phones: every common way of writing a Vietnamese mobile.
    _case("mobile plain", "Liên hệ anh Tuấn 0903456789.", ("0903456789", "Tuấn")),
    _case("mobile spaced", "Gọi số 0903 456 789 để nhận lại.", ("0903 456 789",)),
    _case("mobile 4-3-3 dots", "ĐT: 0912.345.678", ("0912.345.678",)),
    _case("mobile dashes", "sđt 0987-654-321 (chị Hoa)", ("0987-654-321", "Hoa")),
    _case("mobile +84 spaced", "Call +84 903 456 789 now", ("+84 903 456 789",)),
    _case("mobile +84 glued", "Zalo +84903456789.", ("+84903456789",)),
    _case(
        "mobile 84 without plus", "Số điện thoại 84903456789 của người nhặt được.", ("84903456789",)
    ),
    _case("mobile 0084", "gọi 0084 903 456 789", ("0084 903 456 789",)),
    _case("mobile (+84)", "ĐT (+84) 912 345 678.", ("(+84) 912 345 678", "912 345 678")),
    _case("mobile +84 0 kept", "gọi +84 0903 456 789", ("0903 456 789",)),
    _case("mobile zero-width", f"gọi 09{ZW}03{ZW}456{ZW}789 ngay", (f"09{ZW}03{ZW}456{ZW}789",)),
    _case("mobile zwj between", f"số 0903{ZWJ}456{ZWJ}789.", (f"0903{ZWJ}456{ZWJ}789",)),
    _case("mobile fullwidth", "gọi ０９０３４５６７８９ nhé", ("０９０３４５６７８９",)),
    _case("mobile fullwidth spaced", "ĐT ０９０３ ４５６ ７８９.", ("０９０３ ４５６ ７８９",)),
    _case("mobile nbsp", f"gọi 0903{NBSP}456{NBSP}789.", (f"0903{NBSP}456{NBSP}789",)),
    _case("mobile 3-4-3", "Liên hệ 090 3456 789 (giờ hành chính).", ("090 3456 789",)),
    _case("mobile after colon glued", "SĐT:0358123456", ("0358123456",)),
    _case(
        "two mobiles",
        "Ông Hai 0903 111 222, bà Ba 0913 333 444.",
        ("0903 111 222", "0913 333 444", "Hai", "Ba"),
    ),
    # Private landlines, public landlines.
    _case(
        "private landline at home",
        "Nhà riêng của bà Lan: 028 3812 3456.",
        ("028 3812 3456", "Lan"),
    ),
    _case("private landline with a person", "Liên hệ chị Mai, 028 3933 4455.", ("028 3933 4455",)),
    _case(
        "ward office landline",
        "Liên hệ UBND phường: 028 3820 5678.",
        keep=("028 3820 5678", "UBND phường"),
    ),
    _case(
        "police landline",
        "Điện thoại trực ban Công an phường: 028 3829 7755.",
        keep=("028 3829 7755",),
    ),
    _case("hotline 1900", "Tổng đài 1900 545454 hoạt động 24/7.", keep=("1900 545454",)),
    _case("hotline 1800", "Gọi miễn phí 1800 1091.", keep=("1800 1091",)),
    _case(
        "hotline line",
        "Đường dây nóng của phường 0283 9231 555.",
        keep=("0283 9231 555",),
    ),
    _case("emergency numbers", "Khẩn cấp gọi 113, 114 hoặc 115.", keep=("113", "114", "115")),
    _case(
        "office then person",
        "Văn phòng khu phố, gặp anh Tùng 028 3811 2233.",
        ("028 3811 2233", "Tùng"),
        ("Văn phòng khu phố",),
    ),
    # Identity numbers.
    _case("CCCD plain", "CCCD 079185004321", ("079185004321",)),
    _case("CCCD spaced with keyword", "căn cước công dân số 079 185 004 321", ("079 185 004 321",)),
    _case("CCCD spaced no keyword", "Giấy tờ: 079 185 004 321, bản gốc.", ("079 185 004 321",)),
    _case("CCCD dotted no keyword", "mang theo 079.185.004.321 khi đến", ("079.185.004.321",)),
    _case("CCCD 4-4-4", "số định danh cá nhân: 0791 8500 4321", ("0791 8500 4321",)),
    _case("CCCD no keyword glued", "người nhặt được ví có thẻ 001099012345", ("001099012345",)),
    _case("CMND dotted", "CMND 025.123.456 cấp năm 2010", ("025.123.456",)),
    _case("CMND plain keyword", "chứng minh nhân dân số 271234567", ("271234567",)),
    _case("CMND spaced keyword", "CMT: 025 123 456", ("025 123 456",)),
    _case("CMND dotted no keyword", "mất giấy tờ tùy thân số 025.123.456.", ("025.123.456",)),
    _case(
        "CCCD zero-width",
        f"CCCD: 0791{ZW}8500{ZW}4321",
        (f"0791{ZW}8500{ZW}4321",),
    ),
    _case("CCCD fullwidth", "CCCD ０７９１８５００４３２１", ("０７９１８５００４３２１",)),
    _case("passport", "hộ chiếu số C1234567", ("C1234567",)),
    # Bank accounts.
    _case("STK", "Ủng hộ qua STK 0071000123456 Vietcombank.", ("0071000123456",)),
    _case(
        "số tài khoản with bank between",
        "số tài khoản Techcombank: 1903 4567 8901 23, chủ tài khoản ...",
        ("1903 4567 8901 23",),
    ),
    _case("TK số", "chuyển vào TK số 123456789 (ACB)", ("123456789",)),
    # Licence plates.
    _case("plate car", "xe ô tô biển số 51F-123.45 đậu trái phép", ("51F-123.45",)),
    _case("plate motorbike", "xe máy biển 59-X1 234.56 bị mất", ("59-X1 234.56",)),
    _case("plate compact", "biển kiểm soát 51A12345", ("51A12345",)),
    _case("plate four digits", "xe 29B1-2345 màu đỏ", ("29B1-2345",)),
    # Dates of birth.
    _case("born on", "cháu bé sinh ngày 12/03/2019, mặc áo xanh", ("12/03/2019",)),
    _case("date of birth label", "Ngày sinh: 05-11-1987", ("05-11-1987",)),
    _case("SN year", "Ông Lê Văn Tư (SN 1956) đi lạc", ("1956", "Lê Văn Tư")),
    _case("born in words", "sinh ngày 2 tháng 9 năm 1945", ("2 tháng 9 năm 1945",)),
    # E-mails.
    _case("email plain", "gửi về lan.nguyen@example.vn", ("lan.nguyen@example.vn",)),
    _case("email (at)", "liên hệ name(at)gmail.com", ("name(at)gmail.com", "name")),
    _case("email [at] (dot)", "thư: tuan.le [at] yahoo (dot) com", ("tuan.le",)),
    _case("email a còng", "email nguyenvana a còng gmail chấm com", ("nguyenvana",)),
    _case("email spaced @", "hộp thư mai.tran @ gmail.com", ("mai.tran",)),
    _case(
        "ward email stays readable around",
        "Góp ý gửi phuong1@hcm.gov.vn hoặc gọi 1900 1234.",
        ("phuong1@hcm.gov.vn",),
        ("1900 1234",),
    ),
    # Names.
    _case("name after ông", "Kính mời ông Nguyễn Văn An đến nhận.", ("Nguyễn Văn An",)),
    _case(
        "name in capitals", "ÔNG NGUYỄN VĂN AN ĐẾN NHẬN GIẤY", ("NGUYỄN VĂN AN",), ("NHẬN GIẤY",)
    ),
    _case("name after chủ hộ", "Chủ hộ: Lê Văn Tám, khu phố 3.", ("Lê Văn Tám",), ("khu phố 3",)),
    _case("name after cháu", "Tìm cháu Minh Khang, 5 tuổi.", ("Minh Khang",)),
    _case("name after em", "em Trần Gia Bảo lạc mẹ tại chợ", ("Trần Gia Bảo",)),
    _case(
        "names in a list",
        "Các hộ chưa nộp: Nguyễn Văn Hai, Trần Thị Ba và Lê Văn Bốn.",
        ("Nguyễn Văn Hai", "Trần Thị Ba", "Lê Văn Bốn"),
    ),
    _case(
        "names after honorific listed",
        "Bà Phạm Thị Lụa, Võ Thành Công và Đỗ Văn Năm đã nhận hỗ trợ.",
        ("Phạm Thị Lụa", "Võ Thành Công", "Đỗ Văn Năm"),
    ),
    _case(
        "numbered list",
        "Danh sách nhận quà:\n1. Huỳnh Văn Sáu\n2. Bùi Thị Bảy",
        ("Huỳnh Văn Sáu", "Bùi Thị Bảy"),
    ),
    _case("name label", "Họ và tên: Đặng Thu Thảo", ("Đặng Thu Thảo",)),
    _case(
        "bà con is not a name",
        "BÀ CON KHU PHỐ 3 LƯU Ý. Bà con mang theo giấy tờ.",
        keep=("BÀ CON KHU PHỐ 3", "Bà con mang"),
    ),
    _case(
        "places on honorifics",
        "Tập trung tại chợ Bà Chiểu, đường Cô Giang, cầu Ông Lãnh.",
        keep=("chợ Bà Chiểu", "đường Cô Giang", "cầu Ông Lãnh"),
    ),
    _case(
        "streets named after people",
        "Cắt điện đoạn từ số 12 đến số 148 Lê Thánh Tôn và đường Nguyễn Thị Minh Khai.",
        keep=("số 12 đến số 148 Lê Thánh Tôn", "Nguyễn Thị Minh Khai"),
    ),
    _case(
        "signature of an official stays?",
        "Liên hệ UBND phường Bến Thành, số 92 Nguyễn Trãi.",
        keep=("UBND phường Bến Thành", "số 92 Nguyễn Trãi"),
    ),
    # Home addresses.
    _case(
        "house of a person",
        "Họp tại nhà ông Sáu, số 12 hẻm 34 Lê Lợi, khu phố 2.",
        ("số 12 hẻm 34 Lê Lợi", "Sáu"),
        ("khu phố 2",),
    ),
    _case(
        "house of bà with slash number",
        "Mất trộm ở nhà bà Nguyễn Thị Hoa 25/3 Trần Hưng Đạo.",
        ("25/3 Trần Hưng Đạo", "Nguyễn Thị Hoa"),
    ),
    _case("resident address", "thường trú tại 45/6 Nguyễn Đình Chiểu", ("45/6 Nguyễn Đình Chiểu",)),
    _case(
        "public venue stays",
        "Họp tại Nhà văn hóa khu phố 3, số 7 Pasteur.",
        keep=("Nhà văn hóa khu phố 3, số 7 Pasteur",),
    ),
    # Written after the finders, to test them blind.
    _case(
        "mobile with spaces around dashes",
        "gọi 0903 - 456 - 789 gặp chú Bảy",
        ("0903 - 456 - 789",),
    ),
    _case("mobile in parentheses after name", "Trần Văn Sơn (0909.123.456)", ("0909.123.456",)),
    _case("mobile 84 dotted", "zalo 84.903.456.789", ("84.903.456.789",)),
    _case("soft hyphen in mobile", "gọi 0903\u00ad456\u00ad789", ("0903\u00ad456\u00ad789",)),
    _case("CCCD after số CCCD", "Số CCCD: 079 185 004 321.", ("079 185 004 321",)),
    _case("CCCD lower case keyword", "cccd 079185004321 của ông Tâm", ("079185004321", "Tâm")),
    _case("email uppercase AT", "EMAIL: HOA.LE(AT)GMAIL.COM", ("HOA.LE",)),
    _case("email [dot] vn", "gửi tuan[at]ubnd[dot]vn nhé", ("tuan",)),
    _case("plate lower case", "biển số 51f-123.45", ("51f-123.45",)),
    _case("name with cụ", "Cụ Lê Thị Nhàn, 85 tuổi, đi lạc", ("Lê Thị Nhàn",)),
    _case(
        "capitals list",
        "DANH SÁCH HỘ NGHÈO: NGUYỄN VĂN MỘT, TRẦN THỊ HAI",
        ("NGUYỄN VĂN MỘT", "TRẦN THỊ HAI"),
    ),
    _case("birth after năm sinh", "Năm sinh: 1990", ("1990",)),
    _case("english class", "Lớp học tiếng Anh miễn phí cho thiếu nhi.", keep=("tiếng Anh",)),
    _case("document number", "Số: 215/TB-UBND ngày 20/11/2026", keep=("215/TB-UBND", "20/11/2026")),
    _case("short amount", "lệ phí 12.500.000đ, hạn 5/12", keep=("12.500.000đ", "5/12")),
    _case("city hotline 1022", "Phản ánh qua tổng đài 1022.", keep=("1022",)),
    _case("province name", "Đoàn từ Bà Rịa - Vũng Tàu đến thăm.", keep=("Bà Rịa - Vũng Tàu",)),
    _case(
        "health station landline",
        "Trạm Y tế phường: 028 3855 6677.",
        keep=("028 3855 6677",),
    ),
    _case(
        "ward blocks",
        "Tổ dân phố 12, khu phố 3, phường Tân Định.",
        keep=("Tổ dân phố 12, khu phố 3, phường Tân Định",),
    ),
    _case(
        "office hours",
        "giờ hành chính (7 giờ 30 - 17 giờ), thứ Hai đến thứ Sáu",
        keep=("7 giờ 30 - 17 giờ",),
    ),
    _case("big amount", "Tổng kinh phí 1.500.000.000 đồng.", keep=("1.500.000.000 đồng",)),
    _case(
        "children born in a year",
        "Tiêm vắc xin sởi cho trẻ sinh năm 2021 và 2022 tại Trạm Y tế.",
        keep=("sinh năm 2021 và 2022",),
    ),
    _case("years and counts", "Kế hoạch năm 2026 cho 1.200 hộ.", keep=("năm 2026", "1.200 hộ")),
    _case(
        "landline liên hệ unmarked",
        "Thông tin chi tiết liên hệ 028 3841 2468.",
        keep=("028 3841 2468",),
    ),
    # A second blind batch (14 of 18 caught before the fixes it led to).
    _case(
        "mobile one digit a group",
        "Liên lạc chị Thu qua số 0 9 0 3 4 5 6 7 8 9.",
        ("0 9 0 3 4 5 6 7 8 9", "Thu"),
    ),
    _case("+84 with dashes", "SĐT người nhà: +84-903-456-789", ("+84-903-456-789",)),
    _case(
        "CCCD/CMND label, issue date stays",
        "CCCD/CMND: 079185004321 (cấp ngày 01/01/2021)",
        ("079185004321",),
        ("01/01/2021",),
    ),
    _case(
        "capitals, birth and residence",
        "Anh NGUYỄN MINH TUẤN, sinh ngày 01.02.1990, trú tại 12/4 Lê Văn Sỹ",
        ("NGUYỄN MINH TUẤN", "01.02.1990", "12/4 Lê Văn Sỹ"),
    ),
    _case(
        "account holder",
        "Số tài khoản: 0123 4567 89 - Ngân hàng Agribank - chủ TK: Trần Văn Út",
        ("0123 4567 89", "Trần Văn Út"),
    ),
    _case(
        "plate label and owner",
        "Biển số: 51G 123.45, chủ xe Phạm Thị Hồng",
        ("51G 123.45", "Phạm Thị Hồng"),
    ),
    _case("spaced e-mail .com.vn", "mail: hoang_anh99 @ yahoo . com . vn", ("hoang_anh99",)),
    _case(
        "ward hotline landline",
        "Gọi đường dây nóng UBND phường 0283 829 1111 hoặc 115.",
        keep=("0283 829 1111", "115"),
    ),
    _case(
        "home in an alley named after a place",
        "Người bị nạn: bà Võ Thị Sáu, 70 tuổi, nhà ở hẻm 5 Cô Bắc.",
        ("Võ Thị Sáu", "hẻm 5 Cô Bắc"),
    ),
    _case(
        "gia đình ông",
        "Hỗ trợ gia đình ông Lâm (ĐT 0909 888 777) tại tổ 4 khu phố 2",
        ("0909 888 777", "Lâm"),
        ("tổ 4 khu phố 2",),
    ),
    _case(
        "home landline in brackets", "Máy bàn nhà chú Tám: (028) 3844 5566", ("(028) 3844 5566",)
    ),
    _case("social insurance number", "Mã số BHXH 7912345678 của cháu Na", ("Na",)),
    _case(
        "social housing stays", "Dự án nhà ở xã hội số 1 Lê Lợi", keep=("nhà ở xã hội số 1 Lê Lợi",)
    ),
    # Amounts and dates that look like numbers but are not personal.
    _case(
        "amounts and dates stay",
        "Phạt 1.000.000 đồng từ ngày 28/11/2026; kinh phí 250.000.000 đồng.",
        keep=("1.000.000 đồng", "28/11/2026", "250.000.000 đồng"),
    ),
    _case("times stay", "từ 7 giờ 30 đến 11 giờ 30 ngày 28.11.2026", keep=("28.11.2026",)),
    _case("house numbers stay", "hẻm 1194 Huỳnh Tấn Phát", keep=("hẻm 1194 Huỳnh Tấn Phát",)),
)
