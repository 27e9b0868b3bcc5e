# Every *_in requisite (use_in has its own tree). Targets are matched by ID
# or by name (service: nginx is the ID nginx-service).
nginx:
  pkg.installed:
    - require_in:
      - file: /etc/nginx/nginx.conf
      - service: nginx

/etc/nginx/nginx.conf:
  file.managed:
    - contents: events {}
    - watch_in:
      - service: nginx
    - onchanges_in:
      - cmd: reload
    - prereq_in:
      - service: stopper
    - listen_in:
      - service: listener

nginx-service:
  service.running:
    - name: nginx
    - onfail_in:
      - cmd: alert

reload:
  cmd.run:
    - name: systemctl reload nginx

alert:
  cmd.run:
    - name: echo failed

stopper:
  service.dead:
    - name: app

listener:
  service.running:
    - name: app
