# Absolute includes: a plain file, a directory's init.sls, a nested file, and
# an SLS included twice (once through another include): it is compiled once.
include:
  - base
  - nginx
  - nginx.config
  - users

app-config:
  file.managed:
    - name: /etc/app.conf
    - contents: app
