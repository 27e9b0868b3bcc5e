odd-marker:
  test.nop: []
