nginx:
  pkg.installed:
    - version: 1.22.0
  service.running:
    - enable: True
    - require:
      - pkg: nginx

/etc/nginx/nginx.conf:
  file.managed:
    - source: salt://nginx.conf
    - mode: 644
    - user: root

app-user:
  user.present:
    - name: app
    - groups: [www-data]
