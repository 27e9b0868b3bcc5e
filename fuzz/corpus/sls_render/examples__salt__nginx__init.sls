{%- from tpldir ~ '/map.jinja' import nginx with context %}

nginx:
  pkg.installed:
    - name: {{ nginx.package }}
  service.running:
    - name: {{ nginx.service }}
    - enable: True
    - watch:
      - file: nginx_site

nginx_site:
  file.managed:
    - name: {{ nginx.config_dir }}/sites-enabled/{{ nginx.server_name }}.conf
    - source: salt://nginx/site.conf.j2
    - template: jinja
    - mode: 0644
    - context:
        port: {{ nginx.port }}
        server_name: {{ nginx.server_name }}
        root: /srv/app/public
    - require:
      - pkg: nginx
