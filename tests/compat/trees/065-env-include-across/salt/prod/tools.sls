tools in {{ saltenv }}:
  test.succeed_without_changes
