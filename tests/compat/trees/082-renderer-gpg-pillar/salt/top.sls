base:
  "*":
    - app
