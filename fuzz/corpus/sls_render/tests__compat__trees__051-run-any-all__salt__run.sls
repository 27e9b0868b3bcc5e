# The *_any and onfail_all forms.
changed:
  test.succeed_with_changes
unchanged:
  test.succeed_without_changes
failed:
  test.fail_without_changes
require_any_one_ok:
  test.nop:
    - require_any:
      - test: failed
      - test: unchanged
require_any_all_failed:
  test.nop:
    - require_any:
      - test: failed
watch_any_changed:
  test.succeed_without_changes:
    - watch_any:
      - test: failed
      - test: changed
onchanges_any_one:
  test.succeed_without_changes:
    - onchanges_any:
      - test: unchanged
      - test: changed
onchanges_any_none:
  test.succeed_without_changes:
    - onchanges_any:
      - test: unchanged
onfail_any_one:
  test.succeed_without_changes:
    - onfail_any:
      - test: unchanged
      - test: failed
onfail_all_not_all:
  test.succeed_without_changes:
    - onfail_all:
      - test: unchanged
      - test: failed
onfail_all_all:
  test.succeed_without_changes:
    - onfail_all:
      - test: failed
