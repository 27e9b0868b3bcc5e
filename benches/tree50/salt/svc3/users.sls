{%- from tpldir ~ '/map.jinja' import svc3 with context %}
{%- for user in svc3.users %}
svc3-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc3-service
{%- endfor %}
svc3-marker:
  test.nop:
    - name: svc3 users for {{ grains['id'] }}
