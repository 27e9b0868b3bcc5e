{%- from tpldir ~ '/map.jinja' import svc2 with context %}
{%- for user in svc2.users %}
svc2-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc2-service
{%- endfor %}
svc2-marker:
  test.nop:
    - name: svc2 users for {{ grains['id'] }}
