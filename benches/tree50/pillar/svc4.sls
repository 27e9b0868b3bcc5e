svc4:
  port: 9004
  options:
    workers: 8
  users:
    - name: svc4-admin
    - name: svc4-ops
      shell: /bin/sh
