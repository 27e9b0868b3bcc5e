base:
  "*":
    - secrets
