"""The template sandbox and segment counting."""

from __future__ import annotations

import pytest

from amo_bridge.products import load_defaults
from amo_bridge.templates import SAMPLE, MissingValues, TemplateProblem, preview, render, validate
from sms.segments import count_segments


@pytest.mark.parametrize(("text", "encoding", "count"), [
    ("", "GSM-7", 0),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),  # extension characters count double: 160 septets
    ("€" * 81, "GSM-7", 2),
    ("a" * 158 + "€", "GSM-7", 1),  # 160 septets
    ("a" * 159 + "€", "GSM-7", 2),  # 161 septets
    # 306 septets would fit two parts of 153, but the escape pair may not straddle them
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 3),
    ("Я" * 70, "UCS-2", 1),  # any Cyrillic letter: UCS-2
    ("Я" * 71, "UCS-2", 2),
    ("Я" * 134, "UCS-2", 2),
    ("Я" * 135, "UCS-2", 3),
    ("Hello, Анна", "UCS-2", 1),
    ("😀" * 35, "UCS-2", 1),  # surrogate pairs: 2 units each
    ("😀" * 36, "UCS-2", 2),
])
def test_segments(text, encoding, count):
    parts = count_segments(text)
    assert (parts.encoding, parts.count) == (encoding, count)


def test_extension_characters_weigh_two_septets():
    assert count_segments("{}[]").units == 8 and count_segments("abcd").units == 4


def test_the_seed_example_renders_exactly():
    source = ("{{ client_io }}, ваш полис {{ product }} заканчивается {{ end_date }}. Продлить "
              "его вы можете у своего менеджера: {{ manager_name }}, {{ manager_phone }}")
    shown = preview(source, max_segments=3)
    assert shown.text == ("Анна Петровна, ваш полис КАСКО заканчивается 15.03.2027. Продлить "
                          "его вы можете у своего менеджера: Дмитрий, +7 999 123-45-67")
    assert (shown.segments.encoding, shown.segments.count, shown.too_long) == ("UCS-2", 2, False)
    assert preview(source, max_segments=1).too_long


@pytest.mark.parametrize("source", [
    "{{ client_io.__class__ }}",
    "{{ client_io.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__ }}",
    "{{ client_io['__class__'] }}",
    "{{ client_io|attr('__class__') }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum }}",
    "{{ client_io.upper() }}",
    "{% for x in client_io %}{{ x }}{% endfor %}",
    "{% set x = 1 %}{{ client_io }}",
    "{% include 'x' %}",
    "{% macro m() %}{% endmacro %}",
])
def test_sandbox_escapes_are_refused_on_save(source):
    with pytest.raises(TemplateProblem) as info:
        validate(source)
    assert info.value.key in ("template.forbidden", "template.unknown_variable",
                              "template.unknown_filter")
    assert info.value.message("ru")


def test_class_access_names_the_offending_piece():
    with pytest.raises(TemplateProblem) as info:
        validate("Здравствуйте!\n{{ client_io.__class__ }}")
    assert info.value.line == 2 and "__class__" in info.value.message("ru")
    assert "Строка 2" in info.value.message("ru")


def test_unknown_variable_and_syntax_errors_point_at_the_line():
    with pytest.raises(TemplateProblem) as info:
        validate("{{ client_io }}\n{{ manger_phone }}")
    assert info.value.key == "template.unknown_variable" and info.value.line == 2
    assert "manger_phone" in info.value.message("ru") and "manager_phone" in \
        info.value.message("ru")
    with pytest.raises(TemplateProblem) as info:
        validate("{{ client_io }\n")
    assert info.value.key == "template.syntax" and info.value.line == 1
    assert "Unknown variable “manger_phone”" in TemplateProblem(
        "template.unknown_variable", line=2, name="manger_phone").message("en")


def test_missing_values_are_falsy_in_if_and_reported_when_printed():
    source = "{{ client_io }}{% if policy_number %} № {{ policy_number }}{% endif %}, " \
             "{{ manager_phone }}"
    values = {**SAMPLE, "policy_number": None}
    assert render(source, values) == "Анна Петровна, +7 999 123-45-67"
    with pytest.raises(MissingValues) as info:
        render(source, {**values, "manager_phone": None})
    assert info.value.names == ["manager_phone"]
    assert render("{{ insurer | default('страховой компании') }}", {"insurer": None}) == \
        "страховой компании"


@pytest.mark.parametrize("code", sorted(load_defaults()["sms_templates"]))
def test_every_default_template_is_valid_in_both_languages(code):
    for lang in ("ru", "en"):
        shown = preview(load_defaults()["sms_templates"][code][lang], max_segments=3)
        assert shown.text and not shown.too_long


@pytest.mark.parametrize(("name", "first", "middle", "io"), [
    ("Смирнова Анна Петровна", "Анна", "Петровна", "Анна Петровна"),
    ("Кузнецов Олег Ильич", None, None, "Олег Ильич"),
    ("Иванова Анна Петровна", "Иванова", None, "Анна Петровна"),  # a naive split upstream
    ("Алиев Рашид Ильхам оглы", None, None, "Рашид Ильхам оглы"),
    ("Anna Smith", None, None, "Anna"),
    ("Мария", None, None, "Мария"),
    ("", "Анна", None, "Анна"),
])
def test_clients_are_addressed_by_first_name_and_patronymic(name, first, middle, io):
    from amo_bridge.models import Contact
    from sms.context import client_values

    values = client_values(Contact(name=name, first_name=first, middle_name=middle))
    assert values["client_io"] == io
