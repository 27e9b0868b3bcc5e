# prereq: run before a state only if that state would change.
will_change:
  test.succeed_with_changes
wont_change:
  test.succeed_without_changes
prereq_on_change:
  test.succeed_with_changes:
    - prereq:
      - test: will_change
prereq_on_no_change:
  test.succeed_with_changes:
    - prereq:
      - test: wont_change
prereq_in_source:
  test.succeed_without_changes:
    - prereq_in:
      - test: prereq_in_target
prereq_in_target:
  test.succeed_with_changes: []
