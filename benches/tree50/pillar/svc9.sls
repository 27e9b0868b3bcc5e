svc9:
  port: 9009
  options:
    workers: 8
  users:
    - name: svc9-admin
    - name: svc9-ops
      shell: /bin/sh
