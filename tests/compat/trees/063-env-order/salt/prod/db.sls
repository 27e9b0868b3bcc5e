db:
  test.succeed_without_changes
