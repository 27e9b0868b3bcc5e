{%- from tpldir ~ '/map.jinja' import svc6 with context %}
svc6-config-dir:
  file.directory:
    - name: {{ svc6.config_dir }}
    - mode: 0755
svc6-config:
  file.managed:
    - name: {{ svc6.config_dir }}/svc6.conf
    - source: salt://svc6/files/svc6.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc6.port }}
        options: {{ svc6.options | json }}
    - require:
      - file: svc6-config-dir
      - pkg: svc6-pkg
