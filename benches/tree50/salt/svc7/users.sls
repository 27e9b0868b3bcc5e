{%- from tpldir ~ '/map.jinja' import svc7 with context %}
{%- for user in svc7.users %}
svc7-user-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - shell: {{ user.get('shell', '/bin/bash') }}
    - require_in:
      - service: svc7-service
{%- endfor %}
svc7-marker:
  test.nop:
    - name: svc7 users for {{ grains['id'] }}
