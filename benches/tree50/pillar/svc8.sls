svc8:
  port: 9008
  options:
    workers: 8
  users:
    - name: svc8-admin
    - name: svc8-ops
      shell: /bin/sh
