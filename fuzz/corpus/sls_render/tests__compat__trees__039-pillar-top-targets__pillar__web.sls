web:
  port: 80
  roles: {{ grains['roles'] | json }}
