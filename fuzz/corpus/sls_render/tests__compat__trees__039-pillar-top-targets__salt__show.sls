pillar-view:
  test.nop:
    - pkg_manager: {{ pillar['pkg_manager'] }}
    - env: {{ salt['pillar.get']('environment', 'none') }}
    - db: {{ salt['pillar.get']('db:password', 'no-db') }}
