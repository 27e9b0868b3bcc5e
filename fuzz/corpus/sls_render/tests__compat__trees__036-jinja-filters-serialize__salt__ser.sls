# Serialization filters; each result is captured as a string (block scalars or
# yaml_encode) so the exact text Salt produces is compared, key order and all.
{%- set data = {'zeta': 1, 'alpha': [1, 'two', None, True], 'mid': {'b': 'x y', 'a': 0.5}, 'empty': {}} %}
{%- set s = "it's a \"quoted\" string: with colon" %}
ser:
  test.nop:
    - yaml: |
        {{ data | yaml | indent(8) }}
    - yaml_block: |
        {{ data | yaml(False) | indent(8) }}
    - json: |
        {{ data | json }}
    - tojson: |
        {{ data | tojson }}
    - json_roundtrip: {{ data | json }}
    - yaml_encode_str: {{ s | yaml_encode }}
    - yaml_encode_int: {{ 42 | yaml_encode }}
    - yaml_encode_bool: {{ True | yaml_encode }}
    - yaml_encode_none: {{ None | yaml_encode }}
    - yaml_dquote: {{ s | yaml_dquote }}
    - yaml_squote: {{ s | yaml_squote }}
    - yaml_dquote_unicode: {{ "caf\u00e9 \t tab" | yaml_dquote }}
    - load_yaml: {{ "a: [1, 2]\nb: yes\nc: 0644" | load_yaml | json }}
    - inline_yaml: {{ data.mid | yaml }}
    - encoded_text: |
        encode: {{ s | yaml_encode }}
        dquote: {{ s | yaml_dquote }}
        squote: {{ s | yaml_squote }}
        unicode: {{ "caf\u00e9 \t tab" | yaml_dquote }}
        int: {{ 42 | yaml_encode }} bool: {{ True | yaml_encode }} none: {{ None | yaml_encode }}
        plain: {{ 'plain' | yaml_encode }} numeric_str: {{ '0644' | yaml_encode }} yes_str: {{ 'yes' | yaml_encode }}
