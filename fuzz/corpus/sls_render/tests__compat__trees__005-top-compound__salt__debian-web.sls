debian-web-marker:
  test.nop: []
