{%- set states = salt['cp.list_states']() %}
{%- set dirs = salt['cp.list_master_dirs'](prefix='c/files/user/') %}
list:
  test.nop:
    - states: {{ states | json }}
    - has_sub: {{ ('c.sub' in states) | json }}
    - dirs: {{ dirs | json }}
    - all_dirs: {{ salt['cp.list_master_dirs']() | json }}
    - files: {{ salt['cp.list_master'](prefix='c/files') | json }}
    - other_env: {{ salt['cp.list_states']('prod') | json }}
    - alice: {{ ('c/files/user/alice' in dirs) | json }}
