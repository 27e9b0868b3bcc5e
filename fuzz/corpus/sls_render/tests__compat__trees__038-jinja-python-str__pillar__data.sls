data:
  zlist: [1, two, 3.5]
  amap: {b: 1, a: [x]}
  flag: true
  nothing: ~
