# listen fires at the end; use copies arguments; failhard on a later state.
changed:
  test.succeed_with_changes
unchanged:
  test.succeed_without_changes
listener:
  test.succeed_without_changes:
    - listen:
      - test: changed
listener_quiet:
  test.succeed_without_changes:
    - listen:
      - test: unchanged
template:
  test.show_notification:
    - text: shared text
user_of_template:
  test.show_notification:
    - use:
      - test: template
after:
  test.nop: []
hard_stop:
  test.fail_without_changes:
    - failhard: True
never_runs:
  test.succeed_with_changes: []
