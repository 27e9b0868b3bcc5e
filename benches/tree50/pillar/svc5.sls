svc5:
  port: 9005
  options:
    workers: 8
  users:
    - name: svc5-admin
    - name: svc5-ops
      shell: /bin/sh
