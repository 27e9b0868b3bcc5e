app:
  name: web
  opts:
    tags: [y, z]
    nested:
      deep: true
users: null
