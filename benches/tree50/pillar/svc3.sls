svc3:
  port: 9003
  options:
    workers: 8
  users:
    - name: svc3-admin
    - name: svc3-ops
      shell: /bin/sh
