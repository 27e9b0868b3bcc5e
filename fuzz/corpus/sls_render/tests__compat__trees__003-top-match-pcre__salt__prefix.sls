prefix-marker:
  test.nop: []
