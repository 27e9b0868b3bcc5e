# unless/onlyif/creates (operator commands run through a shell), missing requisites.
unless_true:
  test.succeed_with_changes:
    - unless: "true"
unless_false:
  test.succeed_with_changes:
    - unless: "false"
unless_list_mixed:
  test.succeed_with_changes:
    - unless:
      - "true"
      - "false"
onlyif_true:
  test.succeed_with_changes:
    - onlyif: "test 1 -eq 1"
onlyif_false:
  test.succeed_with_changes:
    - onlyif: "false"
creates_exists:
  test.succeed_with_changes:
    - creates: /
creates_missing:
  test.succeed_with_changes:
    - creates: /nonexistent/brine/file
creates_list:
  test.succeed_with_changes:
    - creates:
      - /
      - /etc
watch_skipped:
  test.succeed_without_changes:
    - watch:
      - test: unless_true
missing_require:
  test.nop:
    - require:
      - test: no_such_state
missing_onchanges:
  test.nop:
    - onchanges:
      - id: no_such_id
configurable:
  test.configurable_test_state:
    - changes: True
    - result: True
    - comment: configured
configurable_no_changes:
  test.configurable_test_state:
    - changes: False
    - result: True
notification:
  test.show_notification:
    - text: hello from the tree
retried:
  test.fail_without_changes:
    - retry:
        attempts: 3
        interval: 0
retry_until_false:
  test.succeed_with_changes:
    - retry:
        until: False
        attempts: 2
        interval: 0
