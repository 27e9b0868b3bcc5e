{%- from tpldir ~ '/map.jinja' import svc9 with context %}
svc9-config-dir:
  file.directory:
    - name: {{ svc9.config_dir }}
    - mode: 0755
svc9-config:
  file.managed:
    - name: {{ svc9.config_dir }}/svc9.conf
    - source: salt://svc9/files/svc9.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{ svc9.port }}
        options: {{ svc9.options | json }}
    - require:
      - file: svc9-config-dir
      - pkg: svc9-pkg
