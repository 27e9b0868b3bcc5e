base:
  '*':
    - db
    - app
