{%- from tpldir ~ '/map.jinja' import svc0 with context %}
svc0-service:
  service.running:
    - name: {{ svc0.service }}
    - enable: True
    - watch:
      - file: svc0-config
