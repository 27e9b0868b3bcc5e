{%- from tpldir ~ '/map.jinja' import svc7 with context %}
svc7-config-dir:
  file.directory:
    - name: {{ svc7.config_dir }}
    - mode: 0755
svc7-config:
  file.managed:
    - name: {{ svc7.config_dir }}/svc7.conf
    - source: salt://svc7/files/svc7.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc7.port }}
        options: {{ svc7.options | json }}
    - require:
      - file: svc7-config-dir
      - pkg: svc7-pkg
