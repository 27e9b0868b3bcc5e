include:
  - ...common

certs:
  test.nop: []
