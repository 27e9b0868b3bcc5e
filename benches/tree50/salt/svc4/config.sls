{%- from tpldir ~ '/map.jinja' import svc4 with context %}
svc4-config-dir:
  file.directory:
    - name: {{ svc4.config_dir }}
    - mode: 0755
svc4-config:
  file.managed:
    - name: {{ svc4.config_dir }}/svc4.conf
    - source: salt://svc4/files/svc4.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc4.port }}
        options: {{ svc4.options | json }}
    - require:
      - file: svc4-config-dir
      - pkg: svc4-pkg
