single-marker:
  test.nop: []
