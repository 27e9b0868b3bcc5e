app:
  name: default
  port: 80
  hosts: [a, b]
  opts:
    debug: false
    level: 1
    tags: [x]
users: [root]
only_defaults: 1
