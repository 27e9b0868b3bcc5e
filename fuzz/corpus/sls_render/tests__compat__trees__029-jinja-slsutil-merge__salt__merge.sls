# slsutil.merge (strategies, list merge), defaults.merge, slsutil.serialize.
{%- set defaults = {'listen': '127.0.0.1', 'workers': 2, 'features': ['a'], 'nested': {'x': 1, 'y': 2}} %}
{%- set over = salt['pillar.get']('app', {}) %}
{%- set m_recurse = salt['slsutil.merge'](defaults, over) %}
{%- set m_lists = salt['slsutil.merge'](defaults, over, merge_lists=True) %}
{%- set m_overwrite = salt['slsutil.merge'](defaults, over, strategy='overwrite') %}
{%- set d1 = {'a': 1, 'l': [1], 'n': {'k': 'v'}} %}
{%- set d2 = {'b': 2, 'l': [2], 'n': {'j': 'w'}} %}
{%- do salt['defaults.merge'](d1, d2) %}
{%- set d3 = {'l': [1]} %}
{%- do salt['defaults.merge'](d3, {'l': [2]}, merge_lists=True) %}
{%- set d4 = salt['defaults.merge']({'a': 1}, {'b': 2}, in_place=False) %}
merge:
  test.nop:
    - recurse: {{ m_recurse | json }}
    - lists: {{ m_lists | json }}
    - overwrite: {{ m_overwrite | json }}
    - defaults_merge_in_place: {{ d1 | json }}
    - defaults_merge_lists: {{ d3 | json }}
    - defaults_merge_copy: {{ d4 | json }}

serialize:
  test.nop:
    - json: {{ salt['slsutil.serialize']('json', {'b': 1, 'a': [1, 2]}) | yaml_encode }}
    - yaml: {{ salt['slsutil.serialize']('yaml', {'b': 1, 'a': [1, 2]}) | yaml_encode }}
