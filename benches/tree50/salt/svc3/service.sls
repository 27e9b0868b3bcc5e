{%- from tpldir ~ '/map.jinja' import svc3 with context %}
svc3-service:
  service.running:
    - name: {{ svc3.service }}
    - enable: True
    - watch:
      - file: svc3-config
