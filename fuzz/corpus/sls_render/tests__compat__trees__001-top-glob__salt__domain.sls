domain-marker:
  test.succeed_without_changes: []
