{%- from tpldir ~ '/map.jinja' import svc1 with context %}
svc1-service:
  service.running:
    - name: {{ svc1.service }}
    - enable: True
    - watch:
      - file: svc1-config
