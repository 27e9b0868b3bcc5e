# extend: add a new argument, replace an existing one, extend a requisite list
# (watch added, require extended), and replace a list argument.
include:
  - base

extend:
  nginx:
    service:
      - watch:
        - file: /etc/nginx/nginx.conf
      - require:
        - user: app-user
      - reload: True
  /etc/nginx/nginx.conf:
    file:
      - mode: 600
      - group: www-data
  app-user:
    user.present:
      - groups: [www-data, adm]

app:
  test.nop: []
