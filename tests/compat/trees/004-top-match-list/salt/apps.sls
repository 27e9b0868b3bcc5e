apps-marker:
  test.nop: []
