# sls requisites, names, and order (a requisite cycle is a compile error, see 017).
first:
  test.succeed_with_changes:
    - order: 1
last:
  test.nop:
    - order: last
by_sls:
  test.nop:
    - require:
      - sls: run
multi:
  test.succeed_with_changes:
    - names:
      - one
      - two
after_names:
  test.nop:
    - watch:
      - test: one
