tools:
  test.succeed_without_changes
