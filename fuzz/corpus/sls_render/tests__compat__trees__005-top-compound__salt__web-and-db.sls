web-and-db-marker:
  test.nop: []
