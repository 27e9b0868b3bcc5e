everything-marker:
  test.nop: []
