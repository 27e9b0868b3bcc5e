{%- from tpldir ~ '/map.jinja' import svc6 with context %}
{%- for user in svc6.users %}
svc6-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc6-service
{%- endfor %}
svc6-marker:
  test.nop:
    - name: svc6 users for {{ grains['id'] }}
