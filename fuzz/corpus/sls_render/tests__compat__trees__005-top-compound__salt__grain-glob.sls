grain-glob-marker:
  test.nop: []
