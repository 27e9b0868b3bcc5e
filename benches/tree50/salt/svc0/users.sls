{%- from tpldir ~ '/map.jinja' import svc0 with context %}
{%- for user in svc0.users %}
svc0-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc0-service
{%- endfor %}
svc0-marker:
  test.nop:
    - name: svc0 users for {{ grains['id'] }}
