web:
  test.succeed_without_changes
