{% import_yaml 'vars.yaml' as vars %}
/srv/site/motd:
  file.managed:
    - source: salt://motd
/srv/site/motd.base:
  file.managed:
    - source: salt://motd?saltenv=base
/srv/site/motd.arg:
  file.managed:
    - source: salt://motd
    - saltenv: base
colour:
  test.succeed_without_changes:
    - name: {{ vars.colour }} from {{ saltenv }}
