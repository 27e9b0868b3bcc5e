# Line 4: Salt's json filter sorts keys, and Python cannot sort 139 and 'http'.
dump:
  test.nop:
    - services: {{ pillar.k.services | json }}
