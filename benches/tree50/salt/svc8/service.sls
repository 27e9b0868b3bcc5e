{%- from tpldir ~ '/map.jinja' import svc8 with context %}
svc8-service:
  service.running:
    - name: {{ svc8.service }}
    - enable: True
    - watch:
      - file: svc8-config
