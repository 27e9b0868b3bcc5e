{%- from tpldir ~ '/map.jinja' import svc8 with context %}
svc8-config-dir:
  file.directory:
    - name: {{ svc8.config_dir }}
    - mode: 0755
svc8-config:
  file.managed:
    - name: {{ svc8.config_dir }}/svc8.conf
    - source: salt://svc8/files/svc8.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc8.port }}
        options: {{ svc8.options | json }}
    - require:
      - file: svc8-config-dir
      - pkg: svc8-pkg
