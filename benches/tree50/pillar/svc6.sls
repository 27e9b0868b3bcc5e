svc6:
  port: 9006
  options:
    workers: 8
  users:
    - name: svc6-admin
    - name: svc6-ops
      shell: /bin/sh
