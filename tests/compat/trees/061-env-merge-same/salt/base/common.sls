common in {{ saltenv }}:
  test.succeed_without_changes:
    - name: common from {{ saltenv }}
