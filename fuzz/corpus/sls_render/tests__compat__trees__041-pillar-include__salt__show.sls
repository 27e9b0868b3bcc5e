pillar-include:
  test.nop:
    - shared: {{ salt['pillar.get']('shared') | json }}
    - under: {{ salt['pillar.get']('under:extra_value') }}
