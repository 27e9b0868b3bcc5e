not-web-marker:
  test.nop: []
