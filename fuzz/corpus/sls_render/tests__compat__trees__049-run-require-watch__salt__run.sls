# require and watch against every kind of result (Salt's requisite truth table).
changed:
  test.succeed_with_changes
unchanged:
  test.succeed_without_changes
failed:
  test.fail_without_changes
failed_with_changes:
  test.fail_with_changes
require_changed:
  test.succeed_without_changes:
    - require:
      - test: changed
require_failed:
  test.succeed_with_changes:
    - require:
      - test: failed
require_by_id:
  test.nop:
    - require:
      - unchanged
require_mixed:
  test.nop:
    - require:
      - test: unchanged
      - test: failed_with_changes
watch_changed:
  test.succeed_without_changes:
    - watch:
      - test: changed
watch_unchanged:
  test.succeed_without_changes:
    - watch:
      - test: unchanged
watch_failed:
  test.succeed_without_changes:
    - watch:
      - test: failed
watch_changed_itself_changes:
  test.succeed_with_changes:
    - watch:
      - test: changed
watch_in_source:
  test.succeed_with_changes:
    - watch_in:
      - test: watch_in_target
watch_in_target:
  test.succeed_without_changes: []
require_later:
  test.nop:
    - require:
      - test: defined_after
defined_after:
  test.succeed_with_changes: []
