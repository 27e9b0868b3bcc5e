more:
  test.succeed_without_changes
