# onchanges and onfail: run only when a requisite changed / failed.
changed:
  test.succeed_with_changes
unchanged:
  test.succeed_without_changes
failed:
  test.fail_without_changes
failed_with_changes:
  test.fail_with_changes
onchanges_changed:
  test.succeed_with_changes:
    - onchanges:
      - test: changed
onchanges_unchanged:
  test.succeed_with_changes:
    - onchanges:
      - test: unchanged
onchanges_failed:
  test.succeed_with_changes:
    - onchanges:
      - test: failed
onchanges_failed_with_changes:
  test.succeed_with_changes:
    - onchanges:
      - test: failed_with_changes
onchanges_two:
  test.succeed_without_changes:
    - onchanges:
      - test: unchanged
      - test: changed
onfail_failed:
  test.succeed_with_changes:
    - onfail:
      - test: failed
onfail_ok:
  test.succeed_with_changes:
    - onfail:
      - test: unchanged
onfail_two:
  test.succeed_without_changes:
    - onfail:
      - test: unchanged
      - test: failed
onchanges_in_source:
  test.succeed_with_changes:
    - onchanges_in:
      - test: onchanges_in_target
onchanges_in_target:
  test.succeed_without_changes: []
onfail_in_source:
  test.fail_without_changes:
    - onfail_in:
      - test: onfail_in_target
onfail_in_target:
  test.succeed_without_changes: []
