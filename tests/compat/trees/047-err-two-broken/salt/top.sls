base:
  '*':
    - web
    - ok
    - db
