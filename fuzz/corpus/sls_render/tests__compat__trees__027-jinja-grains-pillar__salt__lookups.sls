# grains/pillar as dicts, and the lookup functions with a:b:c paths, defaults,
# custom delimiters and misses.
lookups:
  test.nop:
    - os: {{ grains['os'] }}
    - os_get: {{ grains.get('os') }}
    - roles: {{ grains['roles'] | join(',') }}
    - grains_get_nested: {{ salt['grains.get']('custom:nested:value') }}
    - grains_get_default: {{ salt['grains.get']('missing:grain', 'dflt') }}
    - grains_get_list_index: {{ salt['grains.get']('ip_interfaces:eth0:0') }}
    - grains_get_delim: {{ salt['grains.get']('custom/nested/value', delimiter='/') }}
    - pillar_name: {{ pillar['app']['name'] }}
    - pillar_dot_get: {{ pillar.get('app', {}).get('port') }}
    - pillar_get_path: {{ salt['pillar.get']('app:db:host') }}
    - pillar_get_list: {{ salt['pillar.get']('app:db:users') | json }}
    - pillar_get_list_index: {{ salt['pillar.get']('app:db:users:1') }}
    - pillar_get_missing: {{ salt['pillar.get']('app:db:password', 'changeme') }}
    - pillar_get_missing_nodefault: "{{ salt['pillar.get']('nope:nothing') }}"
    - pillar_get_dict: {{ salt['pillar.get']('app:db') | json }}
    - pillar_get_bool: {{ salt['pillar.get']('app:enabled') }}
    - pillar_get_int: {{ salt['pillar.get']('app:port') + 1 }}
    - config_get_pillar: {{ salt['config.get']('app:name') }}
    - config_get_grain: {{ salt['config.get']('os_family') }}
    - config_get_default: {{ salt['config.get']('no:such:key', 'fallback') }}
    - config_get_opt: {{ salt['config.get']('file_client') }}
    - in_test: {{ 'web' in grains['roles'] }}
