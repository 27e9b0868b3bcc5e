#!/usr/bin/env python3
"""Regenerates common/src/yaml/testdata/cases.jsonl from real Salt.

Run with the Salt venv's Python (see scripts/install-salt.sh):

    ~/.cache/brine/salt-venv/bin/python scripts/gen-yaml-cases.py

Each output line is one case: {"kind": ..., "input": ..., "expect": ...}.
`cargo test` only reads the committed file; Salt is needed only to refresh it.

Kinds:
  load        YAML text -> json.dumps(salt.utils.yaml.safe_load(text)) as text,
              or {"error": {line, column, problem}} (1-based; line/column null
              when Salt raised a non-YAML exception such as IndexError).
  dump        JSON text (read in order) -> {"flow", "block", "serialize",
              "flow_sorted"}: safe_dump(default_flow_style=True/False) of an
              OrderedDict, salt.serializers.yaml.serialize, and the flow dump
              of a plain dict (PyYAML sorts those keys).
  encode      JSON text -> yaml_encode output or {"error": ...}
  quote       a string -> {"dquote", "squote"}
  pyfmt       JSON text -> {"str", "repr", "json", "json_sorted_indent",
              "json_salt"}: str(), repr(), json.dumps(), json.dumps(
              sort_keys=True, indent=2), salt.utils.json.dumps (no ASCII
              escaping).

Where Python holds things JSON cannot, the expected value is what Brine's
documented stand-in gives (see brine_view): integers beyond 64 bits become
floats, bytes become text, and a mapping holding two keys that print as one
JSON key (`1` and `'1'`) is refused. Non-finite floats stay floats (Brine's
data model holds them; json.dumps writes them as Infinity/NaN).

`--printable-table` prints the non-printable ranges table for pyfmt.rs.
"""
import json
import math
import os
import sys
from collections import OrderedDict

import salt.serializers.yaml as salt_yaml_serializer
import salt.utils.json
import salt.utils.yaml
import salt.utils.yamlencoding

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "common",
    "src",
    "yaml",
    "testdata",
    "cases.jsonl",
)

LOAD_CASES = [
    # empty and trivial documents
    "",
    "# only a comment\n",
    "---\n",
    "--- \n...\n",
    "a: 1\n",
    "plain text",
    # booleans: YAML 1.1 forms, and the ones that stay strings
    "[yes, Yes, YES, no, No, NO, true, True, TRUE, false, False, FALSE]",
    "[on, On, ON, off, Off, OFF]",
    "[y, Y, n, N, yEs, oN, tRUE, nO]",
    # nulls
    "[~, null, Null, NULL, nULL, '', \"\"]",
    "a:\nb: ~\nc: null\n",
    # integers
    "[0, 00, 0644, -0644, +0644, 0_644, 0b101, -0b101, 0x1F, 0x_1f, -0x1F, 1_000, +12]",
    "[1:30, -1:30, 190:20:30, 1:60, 1:5]",
    "[0o17, 089, 0x, 0b, 1__0]",
    "big: 12345678901234567890123\n",
    "[9223372036854775807, 9223372036854775808, 18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809]",
    "mode: 0755\nuid: 0\n",
    # floats
    "[1.0, -1.5, +2.5, 1., .5, 1_000.5, 1.0e+3, 1.0E-3, 1e3, 1.0e3, 1E+3, 6.02e+23]",
    "[.inf, -.inf, +.inf, .Inf, .INF, .nan, .NaN, .NAN, -.nan, inf, nan]",
    "[1:30.5, 0.1, 0.30000000000000004, 1.7976931348623157e+308, 5.0e-324, 1.0e+16, 1.5e+16, 0.0001, 0.00001, -0.0]",
    "[3.14159265358979, 100000000000000000.0, 123456789.123456789]",
    # timestamps stay text
    "[2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5, 2001-12-15T02:59:43.1Z, 2002-1-1 1:02:03]",
    "d: 2024-02-30\n",
    # strings needing care
    "[a b, 'single', \"double\", 'it''s', \"say \\\"hi\\\"\", a#b, a #comment]",
    "[\"\\x41\\u00e9\\U0001F600\\t\\n\\/\\ \\_\\N\\L\\P\\0\\a\\e\"]",
    "s: \"line\n  two\n\n  three\"\n",
    "s: 'folded\n  single\n\n  quoted'\n",
    "s: plain\n  continued\n  lines\n",
    "s: \"x\\\n  y\"\n",
    "unicode: héllo wörld ✓ 😀\n",
    "'quoted key': v\n\"dq key\": v\n",
    "url: http://example.com:8080/path?q=1#frag\n",
    "win: C:\\Windows\\System32\n",
    "cmd: echo {{ foo }}\n",
    "a: 'x: y'\nb: \"[1, 2]\"\n",
    "k: -\n",
    "[-a, ?b, :c, a:b, a-b]",
    # block scalars with chomping and indentation indicators
    "a: |\n  x\n  y\n\n",
    "a: |-\n  x\n  y\n\n",
    "a: |+\n  x\n  y\n\n",
    "a: >\n  folded\n  text\n\n  para\n",
    "a: >-\n  folded\n  text\n",
    "a: >+\n  folded\n\n",
    "a: |2\n    indented\n  less\n",
    "a: >\n  x\n    more indented\n  y\n",
    "- |\n  a\n- >\n  b\n- c\n",
    "a: |\n  # not a comment\n  b\n",
    "a: |\n\n  leading blank\n",
    "a: |\n",
    # collections
    "{}",
    "[]",
    "a: {}\nb: []\n",
    "- a\n- b:\n    c: d\n- [1, 2]\n- {x: y}\n",
    "a:\n- 1\n- 2\nb:\n  - 3\n",
    "- - a\n  - b\n- - c\n",
    "[a, [b, [c, [d]]], {e: {f: g}}]",
    "{a: 1, b: [2, 3], c: {d: 4}}",
    "{a, b: }",
    "[a: b, c]",
    "- ? a\n  : b\n",
    "? complex key\n: value\n",
    "z: 1\ny: 2\nx: 3\na: 4\n",
    "{\"a\":1, \"b\":[2,3]}",
    "{a:1}",
    "[a, ]",
    # non-string keys
    "1: a\n2.5: b\ntrue: c\n~: d\n0x10: e\n",
    "1: a\n\"1\": b\n",
    "null: a\n'null': b\n",
    ".inf: a\n.nan: b\n",
    "2001-01-01: a\n",
    "? !!binary aGk=\n: b\n",
    "123456789012345678901234567890: big\n",
    # duplicate keys
    "a: 1\na: 2\n",
    "x:\n  c: 1\n  d: 2\n  c: 3\n",
    "{a: 1, a: 2}",
    "1: a\ntrue: b\n",
    "1: a\n1.0: b\n",
    "0: a\nfalse: b\n",
    "~: a\nnull: b\n",
    "a:\n  x: 1\n  x: 2\na: 3\n",
    "- {a: 1, a: 1}\n",
    # merge keys
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
    "a: &a {k: 1}\nb: &b {j: 2, m: 1}\nc:\n  <<: [*a, *b]\n  q: 1\n",
    "a: &a {k: 1}\nb: &b {k: 2}\nc:\n  <<: [*a, *b]\n",
    "c:\n  <<: {a: 1}\n  <<: {b: 2}\n",
    "c:\n  <<: [1]\n",
    "c:\n  <<: 1\n",
    "a: &a {x: 1}\nb: &b\n  <<: *a\n  y: 2\nc:\n  <<: *b\n  z: 3\n",
    "a: &a {k: 1}\nc:\n  k: 0\n  <<: *a\n",
    "a: &a {1: x}\nc:\n  \"1\": y\n  <<: *a\n",
    "c: {<<: {a: 1}, b: 2}\n",
    "<<: {a: 1}\n",
    "a: <<\n",
    "'<<': {a: 1}\n",
    "!!merge <<: {a: 1}\n",
    "=: 1\n",
    "a: =\n",
    "[=]",
    # anchors and aliases
    "a: &x 1\nb: *x\n",
    "a: &x [1, 2]\nb: *x\nc: *x\n",
    "a: &x {k: v}\nb: [*x, *x]\n",
    "a: &x\nb: *x\n",
    "a: *undefined\n",
    "- &a a\n- &a b\n",
    "a: &x [1, *x]\n",
    "&a.b x",
    "[&a-1_b x, *a-1_b]",
    # explicit tags
    "[!!str 1, !!str true, !!str ~, !!str 0644, !!str 1.5]",
    "[!!int \"12\", !!int '0644', !!int \"-0644\", !!int 0x1f, !!int 1:30]",
    "[!!float 1, !!float \"1e3\", !!float '.inf', !!float 1:30]",
    "[!!bool yes, !!bool 'off', !!bool TRUE]",
    "[!!null '', !!null whatever]",
    "!!map {a: 1}",
    "!!seq [a]",
    "!!str",
    "!!int abc",
    "!!int",
    "!!float abc",
    "!!bool maybe",
    "!!seq {a: 1}",
    "!!map [a]",
    "!!str [a]",
    "!!int [1]",
    "! 123",
    "! \"123\"",
    "! [1]",
    "[!, ! '', ! x, ! 1]",
    "!<tag:yaml.org,2002:int> \"5\"",
    "!!in%74 \"5\"",
    "%TAG !e! tag:yaml.org,2002:\n--- !e!int \"5\"\n",
    "%TAG !e! tag:example.com,2000:\n--- !e!foo x\n",
    "!foo bar",
    "a: !local x\n",
    "!!python/unicode abc",
    "!!python/str abc",
    "!!timestamp 2001-01-01",
    "!!binary aGVsbG8=",
    "!!binary |\n  aGVs\n  bG8=\n",
    "!!binary /w==",
    "!!binary aGVsbG8",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1, a: 2]",
    "!!omap [a]",
    "!!omap [{a: 1, b: 2}]",
    "!!omap {a: 1}",
    "!!set {a}",
    "!!set {a: 1}",
    "!!set {a, a}",
    # documents
    "--- 1\n--- 2\n",
    "a: 1\n---\n",
    "x\n...\n",
    "x\n...\n---\ny\n",
    "%YAML 1.1\n--- x\n",
    "%YAML 1.2\n--- x\n",
    "--- |\n  text\n...\n",
    # syntax errors
    "a: b: c\n",
    "a:\n  b\n c: 1\n",
    "- a\nb: 1\n",
    "a: [1, 2\n",
    "a: {b: 1\n",
    "a: \"unterminated\n",
    "a: 'x\n",
    "a:\n\t- 1\n",
    "key: value\n\tother: 1\n",
    "[a, b]]\n",
    "a: 1\n- b\n",
    "*\n",
    "a: \"\\q\"\n",
    "a: @b\n",
    "a: `b\n",
    "foo:\n  - a\n  b: 1\n",
    "a: |\n  x\n y\n",
    "[, a]\n",
    "a:\n  - b\n  -c\n",
    "a: x\n  y: z\n",
    "a: - b\n",
    "\"a\"b\n",
    "a: \"b\" c\n",
    "a: \x01\n",
    "a: \x7f\n",
    "k: \"\\x\"\n",
    "k: \"\\ud800\"\n",
    "{{ jinja }}\n",
    "a: {{ jinja }}\n",
    "- [a, b: c, d]",
    # whitespace and comments
    "a: b # c\nd: e\n",
    "a: b#c\n",
    "a:    \n  b\n",
    "  a: 1\n  b: 2\n",
    "\ufeffa: 1\n",
    "a: 1\r\nb: 2\r\n",
    "a:\t1\n",
    "- a\n -b\n",
    "a:\n- b\n  - c\n",
    # where libyaml (Salt) and a YAML 1.2 parser disagree
    "a:\t1\nb:\t'x:\ty'\n",
    "k: [\"\",\n\t    x]\n",
    "k: \"a\n\tb\"\n",
    "[?x, ?1, ? y]",
    "[?x: y]",
    "{?x: y, ?z}",
    "{k: ?x}",
    "[a, ?]",
    "[-, {k: -}]",
    "[- a]",
    "[:]",
    "[:x]",
    "[a, |x]",
    "[>]",
    "a: [1,\n2]\n",
    "- pkgs: [\n    vim,\n  curl\n]\n",
    "a:\n  - [\"1:30\",\n  2024-01-01]\n",
    "- name: 'some long\ncommand'\n",
    "x:\n  y: \"a\\\n  b\"\n",
    "{a: [b]}#c\n",
    "a: 1\n: x\n",
    "?\n: x\n",
    "- : x\n",
    "a: &a\n  <<: *a\n  x: 1\n",
    "a: &a {x: {<<: *a}}\n",
    "k: !!str {=: 5}\n",
    "k: !!int {=: '0644', x: 1}\n",
    # a realistic SLS file
    "nginx:\n  pkg.installed:\n    - version: 1.18\n  service.running:\n    - enable: True\n    - watch:\n      - file: /etc/nginx/nginx.conf\n/etc/nginx/nginx.conf:\n  file.managed:\n    - source: salt://nginx/nginx.conf\n    - mode: 0644\n    - user: root\n",
    "include:\n  - base\n  - .sub\nextend:\n  svc:\n    service.running:\n      - require:\n        - pkg: p\n",
]

DUMP_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -5,
    9223372036854775807,
    18446744073709551615,
    1.0,
    -2.5,
    0.1,
    1e16,
    1.5e-7,
    -0.0,
    1e100,
    "",
    "plain",
    "two words",
    "yes",
    "no",
    "y",
    "null",
    "~",
    "true",
    "1",
    "0644",
    "1.5",
    "1e3",
    "1:30",
    "2001-12-14",
    "<<",
    "=",
    "-",
    "- a",
    "-a",
    "a: b",
    "a:b",
    "a #b",
    "a#b",
    "#a",
    "?",
    "? a",
    ":a",
    "[a]",
    "{a}",
    "a,b",
    "a[b]",
    "&a",
    "*a",
    "!a",
    "|a",
    ">a",
    "'a'",
    '"a"',
    "it's",
    "%a",
    "@a",
    "`a",
    "---",
    "--- a",
    "...",
    " lead",
    "trail ",
    "a\nb",
    "a\n",
    "\na",
    "a\n\nb",
    "a \nb",
    "a\n b",
    "tab\there",
    "back\\slash",
    "quote\"d",
    "héllo",
    "日本語",
    "😀",
    "\u00a0nbsp",
    "\u0085nel",
    "\u2028ls",
    "\ufeffbom",
    "\x00nul",
    "\x07bell",
    "\x1besc",
    "\x7fdel",
    "a" * 100,
    " ".join(["word"] * 30),
    " ".join(["w" * 15] * 12),
    "x" * 130,
    "double  space " * 10,
    [],
    {},
    [1, "a", None, True, 2.5],
    ["a", ["b", ["c"]]],
    [[], {}],
    {"b": 1, "a": 2},
    {"key": "value", "list": [1, 2], "map": {"x": "y"}},
    {"nested": {"deeper": {"deepest": [1, {"k": "v"}]}}},
    {"": "empty key", "yes": "bool key", "1": "int key", "null": "null key"},
    {"a b": 1, "a: b": 2, "- x": 3, "k#": 4, "k #x": 5},
    {"multi\nline": 1},
    {"k" * 130: "long key"},
    {"k" * 70: "v" * 70},
    {"list": [[1, 2], [3, [4, 5]]], "empty": [], "emap": {}},
    [{"a": 1, "b": 2}, {"c": [1, 2]}],
    {"text": "line one\nline two\n"},
    {"unicode": "héllo ✓", "ключ": "значение"},
    {"pkg": {"installed": [{"version": "1.18"}, {"refresh": True}]}},
    [" ".join(["item%d" % i for i in range(30)])],
    {"k%d" % i: "value number %d" % i for i in range(12)},
    list(range(40)),
    ["%s" % ("x" * i) for i in range(1, 25)],
    {"nested": [{"a": "long value " * 8}]},
]

ENCODE_VALUES = [
    None,
    True,
    False,
    0,
    42,
    -7,
    1.5,
    1e16,
    0.1,
    "",
    "plain",
    "it's",
    'say "hi"',
    "back\\slash",
    "line\nbreak",
    "tab\t",
    "héllo",
    "😀",
    "\u00a0\u0085\u2028\u2029\ufeff\x00\x07\x1b\x7f",
    "a" * 200 + " " + "b" * 200,
    [1],
    {"a": 1},
]

QUOTE_VALUES = [
    "",
    "plain",
    "it's",
    "''",
    'say "hi"',
    "back\\slash",
    "line\nbreak",
    "\nleading",
    "trailing\n",
    "a\n\nb",
    "a \n b",
    "  spaces  ",
    "héllo 😀",
    "\u0085\u2028\u2029",
    "tab\there",
    "x " * 60,
]

PYFMT_VALUES = [
    None,
    True,
    False,
    0,
    -12,
    18446744073709551615,
    1.0,
    0.1,
    -0.0,
    1e16,
    1.5e16,
    1e-05,
    0.0001,
    123456789.123,
    1e22,
    5e-324,
    "",
    "plain",
    "it's",
    'say "hi"',
    "both ' and \"",
    "back\\slash",
    "line\nbreak\ttab\rcr",
    "\x00\x1f\x7f\x80\x9f\xa0\xad",
    "héllo ✓ 日本",
    "😀 \U0001f1fa\U0001f1f8",
    "\u200b\u2028\ufeff\ue000\U000e0001",
    [],
    {},
    [1, "a", None, True, 2.5, [], {}],
    {"b": 1, "a": [1, 2], "c": {"d": None}},
    {"é": "ü", "quote'key": "v"},
    [[[]]],
]


def brine_view(v):
    """What Brine's load gives where JSON cannot hold Python's object."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        if -(2**63) <= v < 2**64:
            return v
        return float(v)
    if isinstance(v, float):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, (list, tuple)):
        return [brine_view(x) for x in v]
    if isinstance(v, set):
        return [brine_view(x) for x in v]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if json_key(k) in out:
                raise KeyCollision(json_key(k))
            out[json_key(k)] = brine_view(x)
        return out
    raise TypeError(type(v))


class KeyCollision(ValueError):
    """Two keys Python keeps apart that are one JSON key: Brine refuses them."""


def json_key(k):
    if isinstance(k, bytes):
        return k.decode("utf-8")
    if isinstance(k, str):
        return k
    # json.dumps's own text for a non-string key
    return next(iter(json.loads(json.dumps({k: 0}))))


def load_case(text):
    try:
        value = salt.utils.yaml.safe_load(text)
    except Exception as exc:  # pylint: disable=broad-except
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        return {
            "error": {
                "line": mark.line + 1 if mark else None,
                "column": mark.column + 1 if mark else None,
                "problem": problem,
            }
        }
    try:
        return json.dumps(brine_view(value))
    except (RecursionError, ValueError) as exc:
        return {"error": {"line": None, "column": None, "problem": str(exc)}}


def dump_case(value):
    ordered = json.loads(json.dumps(value), object_pairs_hook=OrderedDict)
    plain = json.loads(json.dumps(value))
    return {
        "flow": salt.utils.yaml.safe_dump(ordered, default_flow_style=True),
        "block": salt.utils.yaml.safe_dump(ordered, default_flow_style=False),
        "serialize": salt_yaml_serializer.serialize(ordered),
        "flow_sorted": salt.utils.yaml.safe_dump(plain, default_flow_style=True),
    }


def encode_case(value):
    try:
        return salt.utils.yamlencoding.yaml_encode(value)
    except TypeError as exc:
        return {"error": str(exc)}


def quote_case(value):
    return {
        "dquote": salt.utils.yamlencoding.yaml_dquote(value),
        "squote": salt.utils.yamlencoding.yaml_squote(value),
    }


def pyfmt_case(value):
    ordered = json.loads(json.dumps(value), object_pairs_hook=OrderedDict)
    plain = json.loads(json.dumps(value))
    return {
        "str": str(plain),
        "repr": repr(plain),
        "json": json.dumps(ordered),
        "json_sorted_indent": json.dumps(ordered, sort_keys=True, indent=2),
        "json_salt": salt.utils.json.dumps(ordered),
    }


def printable_table():
    ranges = []
    start = None
    for c in range(0x110000):
        printable = chr(c).isprintable()
        if not printable and start is None:
            start = c
        if printable and start is not None:
            ranges.append((start, c - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    items = ["(0x%X, 0x%X)" % r for r in ranges]
    for i in range(0, len(items), 6):
        print("    " + ", ".join(items[i : i + 6]) + ",")
    print("// %d ranges" % len(ranges), file=sys.stderr)


def main():
    if "--printable-table" in sys.argv:
        printable_table()
        return
    lines = []
    for text in LOAD_CASES:
        lines.append({"kind": "load", "input": text, "expect": load_case(text)})
    for value in DUMP_VALUES:
        lines.append(
            {"kind": "dump", "input": json.dumps(value), "expect": dump_case(value)}
        )
    for value in ENCODE_VALUES:
        lines.append(
            {"kind": "encode", "input": json.dumps(value), "expect": encode_case(value)}
        )
    for value in QUOTE_VALUES:
        lines.append({"kind": "quote", "input": value, "expect": quote_case(value)})
    for value in PYFMT_VALUES:
        lines.append(
            {"kind": "pyfmt", "input": json.dumps(value), "expect": pyfmt_case(value)}
        )
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print("%d cases written to %s" % (len(lines), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
