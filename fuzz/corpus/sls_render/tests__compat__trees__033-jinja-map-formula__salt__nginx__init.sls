{%- from "nginx/map.jinja" import nginx with context %}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import nginx as nginx2 with context %}

nginx-pkg:
  pkg.installed:
    - name: {{ nginx.pkg }}

nginx-config:
  file.managed:
    - name: {{ nginx.config_file }}
    - context: {{ nginx.config | json }}
    - require:
      - pkg: nginx-pkg

nginx-service:
  service.running:
    - name: {{ nginx.service.name }}
    - enable: {{ nginx.service.enable }}
    - same_map: {{ nginx == nginx2 }}
