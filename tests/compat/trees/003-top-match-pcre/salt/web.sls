web-marker:
  test.nop: []
