{%- from tpldir ~ '/map.jinja' import svc5 with context %}
{%- for user in svc5.users %}
svc5-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc5-service
{%- endfor %}
svc5-marker:
  test.nop:
    - name: svc5 users for {{ grains['id'] }}
