base:
  "*":
    - json
