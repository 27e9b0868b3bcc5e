{%- from tpldir ~ '/map.jinja' import svc7 with context %}
svc7-service:
  service.running:
    - name: {{ svc7.service }}
    - enable: True
    - watch:
      - file: svc7-config
