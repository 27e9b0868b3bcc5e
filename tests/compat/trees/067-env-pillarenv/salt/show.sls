show:
  test.succeed_without_changes:
    - name: {{ pillar.get('tier', 'none') }} {{ pillar.get('db', 'none') }}
