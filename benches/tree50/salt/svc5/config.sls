{%- from tpldir ~ '/map.jinja' import svc5 with context %}
svc5-config-dir:
  file.directory:
    - name: {{ svc5.config_dir }}
    - mode: 0755
svc5-config:
  file.managed:
    - name: {{ svc5.config_dir }}/svc5.conf
    - source: salt://svc5/files/svc5.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc5.port }}
        options: {{ svc5.options | json }}
    - require:
      - file: svc5-config-dir
      - pkg: svc5-pkg
