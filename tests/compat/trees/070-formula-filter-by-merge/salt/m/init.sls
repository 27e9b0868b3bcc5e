{%- from "m/map.jinja" import m, py, empty, empty2, nodefault with context %}
{%- set copied = odict(m) %}
{%- do copied.update({'added': 1}) %}
dump:
  test.nop:
    - map: |
        {{ m | yaml(False) | indent(8) }}
    - flow: {{ m | yaml }}
    - json: {{ m | json }}
    - py: {{ py.pythonpkg }}
    - empty: {{ empty | json }}
    - empty2: {{ empty2 | json }}
    - nodefault: {{ nodefault | json }}
    - odict_copy: |
        {{ copied | yaml(False) | indent(8) }}
    - odict_keys: {{ copied.keys() | list | json }}
    - m_unchanged: {{ ('added' not in m) | json }}
    - odict_pairs: {{ odict([('b', 1), ('a', 2)]) | yaml }}
    - has_false_grain: {{ salt['grains.has_value']('flag') | json }}
    - has_missing_grain: {{ salt['grains.has_value']('nope') | json }}
    - mixed_keys: {{ {'b': 1, 10: 2, 'a': 3} | yaml }}
    - int_keys: {{ {10: 'x', 9: 'y', 100: 'z'} | yaml }}
