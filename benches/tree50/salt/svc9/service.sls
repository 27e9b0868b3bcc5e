{%- from tpldir ~ '/map.jinja' import svc9 with context %}
svc9-service:
  service.running:
    - name: {{ svc9.service }}
    - enable: True
    - watch:
      - file: svc9-config
