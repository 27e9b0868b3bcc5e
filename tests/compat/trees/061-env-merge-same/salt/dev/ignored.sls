never dev:
  test.fail_without_changes
