svc0:
  port: 9000
  options:
    workers: 8
  users:
    - name: svc0-admin
    - name: svc0-ops
      shell: /bin/sh
