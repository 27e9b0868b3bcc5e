x:
  test.nop: []
one:
  test.nop: []
two:
  test.nop: []
