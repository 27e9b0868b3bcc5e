cache-marker:
  test.nop: []
