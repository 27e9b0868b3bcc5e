web in {{ saltenv }}:
  test.succeed_without_changes:
    - name: web from {{ saltenv }}
