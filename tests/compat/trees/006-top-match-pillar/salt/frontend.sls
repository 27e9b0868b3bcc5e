frontend-marker:
  test.nop: []
