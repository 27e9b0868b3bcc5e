# failhard on a state passes through as an argument; the rest compile as usual.
must-work:
  cmd.run:
    - name: 'true'
    - failhard: True

may-fail:
  cmd.run:
    - name: 'false'
    - failhard: False

after:
  test.nop:
    - require:
      - cmd: must-work
