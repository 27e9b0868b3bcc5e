{%- from tpldir ~ '/map.jinja' import svc8 with context %}
{%- for user in svc8.users %}
svc8-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc8-service
{%- endfor %}
svc8-marker:
  test.nop:
    - name: svc8 users for {{ grains['id'] }}
