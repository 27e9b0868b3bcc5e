{%- from tpldir ~ '/map.jinja' import svc1 with context %}
{%- for user in svc1.users %}
svc1-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc1-service
{%- endfor %}
svc1-marker:
  test.nop:
    - name: svc1 users for {{ grains['id'] }}
