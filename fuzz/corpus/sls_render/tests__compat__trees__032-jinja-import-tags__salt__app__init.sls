# import_yaml / import_json (paths relative to the file root, and relative to
# this template with ./), load_yaml / load_json blocks, and the load_* filters.
{%- import_yaml "app/defaults.yaml" as defaults %}
{%- import_json "app/settings.json" as settings %}
{%- import_yaml "./defaults.yaml" as rel_defaults %}
{%- load_yaml as inline %}
key: value
num: 0755
flag: off
items:
  - x
  - y
{%- endload %}
{%- load_json as inline_json %}
{"b": 2, "a": 1}
{%- endload %}
{%- set from_filter = "k: [1, 2]\nb: no" | load_yaml %}
{%- set from_json_filter = '{"x": [true, false]}' | load_json %}
imports:
  test.nop:
    - defaults: {{ defaults | json }}
    - port: {{ defaults.app.port }}
    - settings: {{ settings | json }}
    - rel_defaults_port: {{ rel_defaults['app']['port'] }}
    - inline: {{ inline | json }}
    - inline_json: {{ inline_json | json }}
    - from_filter: {{ from_filter | json }}
    - from_json_filter: {{ from_json_filter | json }}
