# *_any requisites: satisfied when any one of the targets is.
a:
  cmd.run:
    - name: 'true'
b:
  cmd.run:
    - name: 'false'

needs-any:
  cmd.run:
    - name: echo any
    - require_any:
      - cmd: a
      - cmd: b

watches-any:
  cmd.run:
    - name: echo watch
    - watch_any:
      - cmd: a
      - cmd: b

onchanges-any:
  cmd.run:
    - name: echo changed
    - onchanges_any:
      - cmd: a
      - cmd: b

onfail-any:
  cmd.run:
    - name: echo failed
    - onfail_any:
      - cmd: a
      - cmd: b
    - onfail_all:
      - cmd: b
