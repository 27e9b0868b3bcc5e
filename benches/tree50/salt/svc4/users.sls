{%- from tpldir ~ '/map.jinja' import svc4 with context %}
{%- for user in svc4.users %}
svc4-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc4-service
{%- endfor %}
svc4-marker:
  test.nop:
    - name: svc4 users for {{ grains['id'] }}
