"""ldclient.export: CSV cells a spreadsheet would run as formulas get a leading quote; nothing else changes."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from ldclient.cli import _write_events
from ldclient.export import (
    csv_bytes,
    event_csv_row,
    events_csv,
    neutralise_cell,
    neutralise_frame,
    round_number,
    stale_flags_csv,
)
from ldclient.frame import COLUMNS

HOSTILE = ['=HYPERLINK("http://evil","x")', "@SUM(1)", "-2+3", "+1", "\t=1", "\r=1"]
ORDINARY = [
    "Turned on the flag",
    "a@example.com",
    "x=1",
    "  =1 after spaces",
    "",
    "'already quoted",
    "1-2",
    "🚩 = on",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_starting_like_a_formula_gets_a_leading_quote(text):
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", [*ORDINARY, -2, -2.5, 0, 1_767_571_200_000, None, True, float("nan")])
def test_everything_else_is_returned_as_is(value):
    out = neutralise_cell(value)
    assert out is value or (out != out and value != value)  # the very object back (NaN != NaN)


BOM = b"\xef\xbb\xbf"


def read(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)  # UTF-8 with a byte-order mark, so that Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))


def test_csv_bytes_quotes_hostile_text_and_leaves_numbers_and_ordinary_text():
    n = len(HOSTILE)
    frame = pd.DataFrame(
        {
            "description": pd.array(HOSTILE, dtype="string"),
            "member": pd.Series(["=cmd|' /C calc'!A0", *ORDINARY[: n - 1]], dtype="category"),
            "plain": ORDINARY[:n],
            "impact": [-12.5, -1.0, 0.0, 3.25, -0.5, 99.9],  # negative numbers in a numeric column
            "event_time": [1_767_571_200_000 + i for i in range(n)],
            "experiments": pd.array([-1, None, 0, 2, None, 5], dtype="Int64"),
            "mixed": pd.Series([-7, "-7", None, 1.5, "=A1", "ok"], dtype=object),
        }
    )
    rows = read(csv_bytes(frame))
    assert rows[0] == list(frame.columns)
    assert len(rows) == n + 1 and all(len(r) == len(frame.columns) for r in rows)
    body = rows[1:]
    assert [r[0] for r in body] == ["'" + t for t in HOSTILE]
    assert [r[1] for r in body] == ["'=cmd|' /C calc'!A0", *ORDINARY[: n - 1]]
    assert [r[2] for r in body] == ORDINARY[:n]
    # numeric columns come out exactly as pandas writes them without the guard
    plain = read(BOM + frame.to_csv(index=False, lineterminator="\r\n").encode())[1:]
    for i in (3, 4, 5):
        assert [r[i] for r in body] == [r[i] for r in plain]
    assert [r[3] for r in body][:2] == ["-12.5", "-1.0"]
    assert [r[6] for r in body] == ["-7", "'-7", "", "1.5", "'=A1", "ok"]


def test_a_carriage_return_inside_a_cell_cannot_start_a_row_of_its_own():
    frame = pd.DataFrame({"description": ['x\r=HYPERLINK("http://evil","x")', "a\nb"], "n": [1, 2]})
    data = csv_bytes(frame)
    assert read(data) == [["description", "n"], ['x\r=HYPERLINK("http://evil","x")', "1"], ["a\nb", "2"]]
    assert data.startswith(BOM + b'description,n\r\n"x\r=HYPERLINK(') and b'\r\n"a\nb",2\r\n' in data


def test_csv_bytes_leaves_the_frame_alone_and_handles_an_empty_one():
    frame = pd.DataFrame({"description": ["=1"], "n": [-1]})
    csv_bytes(frame)
    assert frame["description"].tolist() == ["=1"]
    empty = pd.DataFrame({"description": pd.Series([], dtype="string"), "n": pd.Series([], dtype="int64")})
    assert read(csv_bytes(empty)) == [["description", "n"]]


def item(i: int, description: str, **member: str) -> dict:
    return {
        "id": f"ev-{i}",
        "projectKey": "p",
        "environmentKey": "production",
        "flagKey": f"flag-{i}",
        "eventType": "flag-updated",
        "eventTime": 1_767_571_200_000 + i,
        "description": description,
        "member": {"email": "a@example.com", **member},
        "actions": ["updateOn"],
        "impact": {
            "size": "large",
            "percentage": 50.0,
            "evaluationsSummary": {
                "variations": [
                    {"value": "-1", "before": 1, "after": 0},
                    {"value": 2, "before": 0, "after": 1},
                ]
            },
        },
    }


def test_cli_csv_writer_quotes_hostile_text_and_jsonl_stays_raw():
    items = [item(0, HOSTILE[0], firstName="@SUM(1)"), item(1, "-2+3"), item(2, "\t=1"), item(3, "Turned on")]
    out = io.StringIO()
    assert _write_events(items, "csv", out) == len(items)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == len(items) and all(list(r) == list(COLUMNS) for r in rows)
    assert [r["description"] for r in rows] == ["'" + HOSTILE[0], "'-2+3", "'\t=1", "Turned on"]
    assert rows[0]["member_name"] == "'@SUM(1)" and rows[1]["member_name"] == ""
    assert [r["event_time"] for r in rows] == [str(1_767_571_200_000 + i) for i in range(len(items))]
    assert rows[0]["impact_percentage"] == "50.0" and rows[0]["variations"].startswith("[")
    raw = io.StringIO()
    _write_events(items, "jsonl", raw)
    assert [json.loads(line)["description"] for line in raw.getvalue().splitlines()] == [
        HOSTILE[0],
        "-2+3",
        "\t=1",
        "Turned on",
    ]
    assert json.loads(raw.getvalue().splitlines()[0])["member"]["firstName"] == "@SUM(1)"


def test_categories_and_text_columns_are_guarded_like_cells():
    frame = pd.DataFrame(
        {
            "cat": pd.Categorical(["=1", "ok", "=1", None]),
            "clash": pd.Categorical(["=1", "'=1", "x", None]),  # quoting would merge two categories
            "text": pd.array(["-2+3", "fine", None, "@x"], dtype="string"),
        }
    )
    out = neutralise_frame(frame)
    expected = {
        "cat": ["'=1", "ok", "'=1", None],
        "clash": ["'=1", "'=1", "x", None],
        "text": ["'-2+3", "fine", None, "'@x"],
    }
    for name, values in expected.items():
        assert [None if pd.isna(v) else v for v in out[name].tolist()] == values, name


def test_non_ascii_text_is_utf8_after_a_byte_order_mark():
    frame = pd.DataFrame({"flag": ["größe-filter", "🚩-rollout"], "member": ["Zoë Łukasz", "渡辺"]})
    data = csv_bytes(frame)
    assert data.startswith(BOM + b"flag,member\r\n")
    assert "größe-filter,Zoë Łukasz".encode() in data and data.count(BOM) == 1
    assert read(data) == [["flag", "member"], ["größe-filter", "Zoë Łukasz"], ["🚩-rollout", "渡辺"]]


@pytest.mark.parametrize(
    "value,places,expected",
    [
        (11.958669907407407, 0, 12),
        (0.4, 0, 0),
        (-2.5, 0, -2),
        (12.345, 1, 12.3),
        (12.36, 1, 12.4),
        (50, 1, 50.0),
        (7, 0, 7),
    ],
)
def test_numbers_are_rounded_as_the_table_shows_them(value, places, expected):
    got = round_number(value, places)
    assert got == expected and type(got) is type(expected)
    assert f"{got}" == (f"{value:.{places}f}" if places else str(expected))  # what "%.Nf" shows


@pytest.mark.parametrize("value", [None, float("nan"), "12.5", True, float("inf")])
def test_what_is_not_a_number_is_not_rounded(value):
    out = round_number(value, 1)
    assert out is value or (out != out and value != value)


def test_flag_events_csv_rounds_the_impact_and_leaves_unknowns_empty():
    table = pd.DataFrame(
        {
            "time": ["2026-11-26 09:30:00", "2026-11-26 09:00:00"],
            "flag": pd.array(["=evil", "größe"], dtype="string"),
            "member": pd.array([None, "zoë@example.com"], dtype="string"),
            "impact_pct": [12.345678, None],
            "experiments": pd.array([None, 2], dtype="Int64"),
        }
    )
    rows = read(events_csv(table))
    assert rows == [
        ["time", "flag", "member", "impact_pct", "experiments"],
        ["2026-11-26 09:30:00", "'=evil", "", "12.3", ""],
        ["2026-11-26 09:00:00", "größe", "zoë@example.com", "", "2"],
    ]
    assert table["impact_pct"].iloc[0] == 12.345678  # the page's table is left as it is


def test_cleanup_csv_has_whole_days_and_empty_cells_where_the_table_shows_a_dash():
    shown = pd.DataFrame(
        {
            "flag_key": ["old-flag", "-2+3"],
            "name": ["—", "Größe"],  # a name that is a dash is the flag's name, not a placeholder
            "age_days": [411.958669907407407, float("nan")],
            "last_requested": ["—", "2026-11-20 10:00"],
            "last_change": ["2026-10-01 08:00", "—"],
            "days_since_change": [56.5001, 0.49],
        }
    )
    rows = read(stale_flags_csv(shown))
    assert rows == [
        list(shown.columns),
        ["old-flag", "—", "412", "", "2026-10-01 08:00", "57"],
        ["'-2+3", "Größe", "", "2026-11-20 10:00", "", "0"],
    ]


def test_cli_event_rows_round_the_impact_like_the_dashboard():
    row = event_csv_row(
        {
            "id": "e1",
            "description": "@SUM(1)",
            "impact_percentage": 33.33333,
            "member_name": None,
            "experiments_count": None,
            "event_time": 1_767_571_200_000,
        }
    )
    assert row == {
        "id": "e1",
        "description": "'@SUM(1)",
        "impact_percentage": 33.3,
        "member_name": "",
        "experiments_count": "",
        "event_time": 1_767_571_200_000,
    }
