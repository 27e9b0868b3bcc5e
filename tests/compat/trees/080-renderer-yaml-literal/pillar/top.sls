base:
  "*":
    - plain
