{%- from tpldir ~ '/map.jinja' import svc2 with context %}
svc2-service:
  service.running:
    - name: {{ svc2.service }}
    - enable: True
    - watch:
      - file: svc2-config
