{%- from tpldir ~ '/map.jinja' import svc5 with context %}
svc5-service:
  service.running:
    - name: {{ svc5.service }}
    - enable: True
    - watch:
      - file: svc5-config
