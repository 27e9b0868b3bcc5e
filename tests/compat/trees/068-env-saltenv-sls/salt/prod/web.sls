prod web:
  test.succeed_without_changes:
    - name: {{ saltenv }} {{ pillar.get('tier', 'none') }}
