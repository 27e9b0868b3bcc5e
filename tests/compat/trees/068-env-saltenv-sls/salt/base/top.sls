base:
  '*':
    - web
prod:
  '*':
    - never
