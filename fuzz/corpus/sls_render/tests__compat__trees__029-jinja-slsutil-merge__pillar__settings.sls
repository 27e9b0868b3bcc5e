app:
  listen: 0.0.0.0
  workers: 8
  features: [b]
  nested: {x: 10}
