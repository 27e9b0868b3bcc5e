{%- from tpldir ~ '/map.jinja' import svc2 with context %}
svc2-config-dir:
  file.directory:
    - name: {{ svc2.config_dir }}
    - mode: 0755
svc2-config:
  file.managed:
    - name: {{ svc2.config_dir }}/svc2.conf
    - source: salt://svc2/files/svc2.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc2.port }}
        options: {{ svc2.options | json }}
    - require:
      - file: svc2-config-dir
      - pkg: svc2-pkg
