{%- from tpldir ~ '/map.jinja' import svc3 with context %}
svc3-config-dir:
  file.directory:
    - name: {{ svc3.config_dir }}
    - mode: 0755
svc3-config:
  file.managed:
    - name: {{ svc3.config_dir }}/svc3.conf
    - source: salt://svc3/files/svc3.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc3.port }}
        options: {{ svc3.options | json }}
    - require:
      - file: svc3-config-dir
      - pkg: svc3-pkg
