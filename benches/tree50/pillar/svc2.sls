svc2:
  port: 9002
  options:
    workers: 8
  users:
    - name: svc2-admin
    - name: svc2-ops
      shell: /bin/sh
