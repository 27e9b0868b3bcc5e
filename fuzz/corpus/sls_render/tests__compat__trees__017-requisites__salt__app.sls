# Every forward requisite but use (own tree), by module:name, by module:ID,
# and a bare ID. prereq also marks its target "prerequired".
nginx:
  pkg.installed: []

/etc/nginx/nginx.conf:
  file.managed:
    - contents: events {}
    - require:
      - pkg: nginx

nginx-service:
  service.running:
    - name: nginx
    - watch:
      - file: /etc/nginx/nginx.conf
    - require:
      - nginx

reload-app:
  cmd.run:
    - name: systemctl reload app
    - onchanges:
      - file: /etc/nginx/nginx.conf

alert:
  cmd.run:
    - name: echo failed
    - onfail:
      - service: nginx-service

stop-before-upgrade:
  service.dead:
    - name: app
    - prereq:
      - file: /etc/nginx/nginx.conf

listener:
  service.running:
    - name: app
    - listen:
      - file: /etc/nginx/nginx.conf

