svc1:
  port: 9001
  options:
    workers: 8
  users:
    - name: svc1-admin
    - name: svc1-ops
      shell: /bin/sh
