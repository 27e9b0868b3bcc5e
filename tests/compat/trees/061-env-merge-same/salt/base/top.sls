base:
  '*':
    - common
prod:
  'web*':
    - web
dev:
  '*':
    - tools
