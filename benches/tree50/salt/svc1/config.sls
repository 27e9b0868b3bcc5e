{%- from tpldir ~ '/map.jinja' import svc1 with context %}
svc1-config-dir:
  file.directory:
    - name: {{ svc1.config_dir }}
    - mode: 0755
svc1-config:
  file.managed:
    - name: {{ svc1.config_dir }}/svc1.conf
    - source: salt://svc1/files/svc1.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc1.port }}
        options: {{ svc1.options | json }}
    - require:
      - file: svc1-config-dir
      - pkg: svc1-pkg
