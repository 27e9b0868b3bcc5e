app:
  name: shop
  port: 8080
  db:
    host: db.internal
    users: [alice, bob]
  enabled: true
colon_key: value
