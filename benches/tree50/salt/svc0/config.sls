{%- from tpldir ~ '/map.jinja' import svc0 with context %}
svc0-config-dir:
  file.directory:
    - name: {{ svc0.config_dir }}
    - mode: 0755
svc0-config:
  file.managed:
    - name: {{ svc0.config_dir }}/svc0.conf
    - source: salt://svc0/files/svc0.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc0.port }}
        options: {{ svc0.options | json }}
    - require:
      - file: svc0-config-dir
      - pkg: svc0-pkg
