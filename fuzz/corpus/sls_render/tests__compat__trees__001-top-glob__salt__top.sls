# Glob targets: several SLS per target, overlapping targets, and targets that
# do not match this minion (db*, web2*).
base:
  '*':
    - common
    - motd
  'web*':
    - web
    - web.vhosts
  'web[0-9].example.com':
    - web.tls
  'db*':
    - db
  'web2*':
    - never
  '*.example.?om':
    - domain
