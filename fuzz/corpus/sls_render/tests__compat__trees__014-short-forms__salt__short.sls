# The short ways to write a state declaration.
curl:
  pkg.installed: []

wget:
  pkg.installed

/etc/motd:
  file:
    - managed
    - source: salt://motd
    - mode: 644

/etc/issue:
  file: [managed, {source: salt://issue}]

ssh:
  service.running:
    - enable: True
    - reload: True
    - watch:
      - file: /etc/motd

cron:
  service:
    - running

/tmp/marker:
  file.touch
