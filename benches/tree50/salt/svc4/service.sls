{%- from tpldir ~ '/map.jinja' import svc4 with context %}
svc4-service:
  service.running:
    - name: {{ svc4.service }}
    - enable: True
    - watch:
      - file: svc4-config
