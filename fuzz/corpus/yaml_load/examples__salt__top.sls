base:
  '*':
    - users
  'web*':
    - nginx
    - app
