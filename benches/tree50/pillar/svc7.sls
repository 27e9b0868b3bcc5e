svc7:
  port: 9007
  options:
    workers: 8
  users:
    - name: svc7-admin
    - name: svc7-ops
      shell: /bin/sh
