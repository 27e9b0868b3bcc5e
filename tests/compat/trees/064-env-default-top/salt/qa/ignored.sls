ignored:
  test.fail_without_changes
