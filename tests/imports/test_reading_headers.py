"""Opening files (encodings, delimiters, formats) and finding what each column holds."""

from __future__ import annotations

import codecs
import io

import pytest
import xlsxwriter

from amo_bridge.imports import calamine_rows, fields
from amo_bridge.imports.headers import ALIAS, IGNORED, MAPPED, UNKNOWN, detect_layout, parse_map
from amo_bridge.imports.prefetch import prefetched_rows
from amo_bridge.imports.problems import ImportFileError
from amo_bridge.imports.reading import HEAD_ROWS, open_sheet, sniff_delimiter
from tests.imports.conftest import FIXTURES

HEADER = "ФИО;Телефон;Вид страхования;Дата окончания;Премия"
ROW = "Иванов Иван;89991234567;ОСАГО;01.02.2025;1 234,50"


def _rows(sheet) -> list[tuple]:
    try:
        return [tuple(r) for r in [*sheet.head, *sheet.rest] if any(c not in (None, "") for c in r)]
    finally:
        sheet.close()


@pytest.mark.parametrize(("raw", "encoding"), [
    ((HEADER + "\r\n" + ROW).encode("cp1251"), "cp1251"),
    ((HEADER + "\n" + ROW).encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + (HEADER + "\r\n" + ROW).encode("utf-8"), "utf-8-sig"),
    ((HEADER + "\r\n" + ROW).replace(";", "\t").encode("utf-16"), "utf-16"),  # Excel "Unicode"
])
def test_encodings(raw, encoding):
    sheet = open_sheet(raw)
    assert sheet.encoding == encoding
    assert _rows(sheet)[1][0] == "Иванов Иван"


@pytest.mark.parametrize(("text", "delimiter"), [
    ("a;b;c\n1,5;2,5;3\n4;5,25;6\n", ";"),  # decimal commas do not fool it
    ('a,b,c\n"1,5",2,3\n4,5,6\n', ","),
    ("a\tb\tc\n1\t2\t3\n", "\t"),
    ("Комиссия, %;Премия\n15;1 000,50\n", ";"),  # a comma inside a header
])
def test_delimiters(text, delimiter):
    assert sniff_delimiter(text) == delimiter


@pytest.mark.parametrize(("raw", "key"), [
    (b"", "import.file.empty"),
    (b"   \r\n", "import.file.empty"),
    (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 100, "import.file.xls"),
    (b"PK\x03\x04broken zip", "import.file.unreadable"),
])
def test_files_that_cannot_be_read_say_why(raw, key):
    with pytest.raises(ImportFileError) as caught:
        open_sheet(raw)
    assert caught.value.key == key


def test_sheets_by_name_and_missing_sheet():
    sheet = open_sheet(FIXTURES / "merged_serial.xlsx", sheet="справочник")  # case ignored
    assert sheet.name == "Справочник"
    sheet.close()
    with pytest.raises(ImportFileError) as caught:
        open_sheet(FIXTURES / "merged_serial.xlsx", sheet="Лист1")
    assert caught.value.params["sheets"] == "«Полисы 2024», «Справочник»"


def test_merged_header_cells_and_percent_format():
    sheet = open_sheet(FIXTURES / "merged_serial.xlsx")
    assert (1, 1, 1, 14) in sheet.merged and (2, 3, 3, 3) in sheet.merged
    assert sheet.fraction_columns == frozenset({11})  # «КВ, %» holds 0.15 for 15 %
    layout = detect_layout(sheet.head, merged=sheet.merged)
    sheet.close()
    found = {c.letter: (c.header, c.field) for c in layout.columns}
    assert layout.header_row == 3
    assert found["C"] == ("Вид страхования", "product")  # merged down from row 2
    assert found["E"] == ("Полис / Номер", "number")
    assert found["J"] == ("Автомобиль / Номер", "plate")  # the same word, another group


def test_map_overrides_and_ignores():
    head = [("ФИО", "Моб.", "Продукт", "Окончание", "Лишнее", "Премия")]
    layout = detect_layout(head, mapping=parse_map(["Моб.=Телефон", "Лишнее=",
                                                    "Премия=sum_insured"]))
    how = {c.header: (c.field, c.how) for c in layout.columns}
    assert how["Моб."] == ("phone", MAPPED)  # a label works as well as a field name
    assert how["Лишнее"] == (None, IGNORED)
    assert how["Премия"] == ("sum_insured", MAPPED)  # --map wins over the alias
    assert how["Продукт"] == ("product", ALIAS)
    for bad, key in ((["Моб.phone"], "import.map.syntax"),
                     (["Моб.=телепорт"], "import.map.unknown_field")):
        with pytest.raises(ImportFileError) as caught:
            parse_map(bad)
        assert caught.value.key == key
    with pytest.raises(ImportFileError) as caught:
        detect_layout(head, mapping=parse_map(["Нет такого=phone"]))
    assert caught.value.key == "import.map.no_header"


def test_missing_required_columns_are_named_in_both_languages():
    with pytest.raises(ImportFileError) as caught:
        detect_layout([("ФИО", "Телефон", "Номер полиса")])
    assert caught.value.message("ru").startswith(
        "Не найдены обязательные столбцы: «Вид страхования», «Дата окончания».")
    assert "“" not in caught.value.message("en") and "«Product», «End date»" in \
        caught.value.message("en")
    with pytest.raises(ImportFileError) as caught:
        detect_layout([("Колонка 1", "Колонка 2")])
    assert caught.value.key == "import.file.no_header"


def test_unknown_and_repeated_columns_are_reported():
    layout = detect_layout([("ФИО", "Вид страхования", "Дата окончания", "Хобби", "Телефон",
                             "Тел.")])
    by_header = {c.header: c.how for c in layout.columns}
    assert by_header["Хобби"] == UNKNOWN
    assert by_header["Тел."] == "duplicate"
    assert [i.key for i in layout.issues] == ["import.column.duplicate"]


def test_alias_table_has_no_contradictions_and_knows_the_ledger_export():
    from amo_bridge.exports.columns import LEDGER_COLUMNS

    fields.alias_index.cache_clear()
    index = fields.alias_index()  # raises if an alias named two fields
    for column in LEDGER_COLUMNS:
        for header in (column.ru, column.en):
            assert fields.match_header(header) is not None, header
    assert index[fields.header_key("№ полиса")] == "number"


def test_a_big_sheet_streams_the_same_rows_from_a_helper_process(tmp_path, monkeypatch):
    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("Данные")
    for r in range(HEAD_ROWS + 1200):
        ws.write_row(r, 0, [f"строка {r}", r * 1.5, None if r % 3 else "x"])
    book.close()
    monkeypatch.setattr(calamine_rows, "IN_MEMORY_LIMIT", -1)  # a sheet too big for calamine
    sheet = open_sheet(path)
    direct = list(sheet.rest)
    sheet.close()
    helped = list(prefetched_rows(path.read_bytes(), "Данные", HEAD_ROWS + 1))
    assert helped == direct and len(helped) == 1200


def test_helper_process_failure_is_one_clear_error(tmp_path):
    with pytest.raises(ImportFileError) as caught:
        list(prefetched_rows(io.BytesIO(b"").getvalue() or b"PK\x03\x04", "x", 1))
    assert caught.value.key == "import.file.unreadable"
