base web:
  test.fail_without_changes
