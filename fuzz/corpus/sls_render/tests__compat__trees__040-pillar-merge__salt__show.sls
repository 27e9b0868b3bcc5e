merged:
  test.nop:
    - app: {{ salt['pillar.get']('app') | json }}
    - port: {{ salt['pillar.get']('app:port') }}
    - deep: {{ salt['pillar.get']('app:opts:nested:deep') }}
    - tags: {{ salt['pillar.get']('app:opts:tags') | json }}
    - users: {{ salt['pillar.get']('users', 'default-users') | json }}
