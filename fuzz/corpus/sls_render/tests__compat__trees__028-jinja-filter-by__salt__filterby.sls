# grains.filter_by: default grain (os_family), grain=, merge=, base=,
# default=, glob keys, and a miss that returns None. The lookup table is built
# fresh for each call: Salt's merge= updates the table's entry in place, so a
# shared table would leak one call's merge into the next.
{%- macro lookup() -%}
{{ {
    'Debian': {'pkg': 'nginx-full', 'user': 'www-data', 'conf': {'a': 1, 'b': 2}},
    'RedHat': {'pkg': 'nginx', 'user': 'nginx'},
    'default': {'pkg': 'nginx-default'},
    'common': {'service': 'nginx', 'conf': {'c': 3}},
} | json }}
{%- endmacro %}
{%- set by_family = salt['grains.filter_by'](lookup() | load_json) %}
{%- set by_os = salt['grains.filter_by']({'Ubuntu': {'codename': 'jammy'}, 'Debian': {'codename': 'bookworm'}}, grain='os') %}
{%- set merged = salt['grains.filter_by'](lookup() | load_json, merge=salt['pillar.get']('nginx:lookup')) %}
{%- set based = salt['grains.filter_by'](lookup() | load_json, base='common') %}
{%- set fallback = salt['grains.filter_by'](lookup() | load_json, grain='os', default='RedHat') %}
{%- set globbed = salt['grains.filter_by']({'Ubuntu-2*': 'new', 'Ubuntu-1*': 'old'}, grain='osfinger') %}
{%- set missing = salt['grains.filter_by']({'Arch': 1}, grain='os') %}
{%- set major = salt['grains.filter_by']({22: 'int-key', '22': 'str-key'}, grain='osmajorrelease') %}
filter-by:
  test.nop:
    - by_family: {{ by_family | json }}
    - by_os: {{ by_os | json }}
    - merged: {{ merged | json }}
    - based: {{ based | json }}
    - fallback: {{ fallback | json }}
    - globbed: {{ globbed | json }}
    - missing: {{ missing | json }}
    - major: {{ major | json }}
