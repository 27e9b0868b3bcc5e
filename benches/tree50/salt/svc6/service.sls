{%- from tpldir ~ '/map.jinja' import svc6 with context %}
svc6-service:
  service.running:
    - name: {{ svc6.service }}
    - enable: True
    - watch:
      - file: svc6-config
