app-config:
  test.nop:
    - password: {{ pillar.db.password | json }}
    - first_token: {{ pillar.api.tokens[0] | json }}
