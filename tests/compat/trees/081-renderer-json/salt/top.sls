base:
  "*":
    - data
    - templated
