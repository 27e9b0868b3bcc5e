{%- from tpldir ~ '/map.jinja' import svc9 with context %}
{%- for user in svc9.users %}
svc9-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc9-service
{%- endfor %}
svc9-marker:
  test.nop:
    - name: svc9 users for {{ grains['id'] }}
