include:
  - base: common
  - prod: tools
  - .lib
app in {{ saltenv }}:
  test.succeed_without_changes:
    - require:
      - test: common in base
