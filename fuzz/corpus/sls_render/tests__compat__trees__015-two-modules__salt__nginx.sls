# One ID with functions from several modules; each becomes its own chunk with
# the same name, and the requisites refer to them by module.
nginx:
  pkg.installed:
    - version: latest
  service.running:
    - enable: True
    - watch:
      - pkg: nginx
      - file: nginx
  file.managed:
    - name: /etc/nginx/nginx.conf
    - contents: events {}
  user.present:
    - system: True
    - home: /var/lib/nginx

redis:
  pkg:
    - installed
  service:
    - running
    - require:
      - pkg: redis
