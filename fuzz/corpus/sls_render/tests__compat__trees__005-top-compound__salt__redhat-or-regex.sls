redhat-or-regex-marker:
  test.nop: []
