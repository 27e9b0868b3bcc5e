vhosts:
  test.nop: []
