{%- set k = salt['grains.filter_by']({
    'Debian': {'services': {'ssh': {'protocol': 'tcp'}}},
  }, grain='os_family', merge=salt['pillar.get']('k', {})) %}
{%- set nums = salt['pillar.get']('k:nums') %}
dump:
  test.nop:
    - map: |
        {{ k | yaml(False) | indent(8) }}
    - flow: {{ k | yaml }}
    - json: {{ k.bools | json }}
    - by_int: {{ k.services[139] | json }}
    - by_str: {{ k.services.get('139', 'absent') | json }}
    - traverse: {{ salt['pillar.get']('k:services:139:protocol', 'absent') | json }}
    - key_types: {{ k.services.keys() | map('string') | list | json }}
    - int_plus: {{ k.services.keys() | select('number') | map('int') | sum }}
    - repr: "{{ k.services.keys() | list }}"
    - printed: "{{ nums.up }} {{ nums.down }} {{ nums.odd }} {{ nums.big }}"
    - compared: {{ [nums.up > 1e300, nums.down < 0, nums.odd == nums.odd] | json }}
    - nums_json: {{ nums | json }}
    - nums_yaml: {{ nums | yaml }}
    - bools_repr: "{{ pillar['k']['bools'] }} {{ pillar['k']['nulls'] }} {{ pillar['k']['floats'] }}"
    - inline: {{ {'x': 'inf' | float, 'y': ('-inf' | float) * 0} | json }}
    - printed_float: {{ 'inf' | float }}
    - literal_inf: .inf
    - literal_nan: .nan
    - literal_neg: -.inf
    - nums: {{ nums }}

{{ k.services.keys() | join('-') }}:
  test.nop
